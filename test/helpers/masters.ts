import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Real lossless masters for the media tests, made with ffmpeg from sine waves: a FLAC album (24-bit
 * 48 kHz, tags and an embedded cover), a WAV single (16-bit 44.1 kHz, tagged), and the bad inputs
 * the importer must refuse without writing anything.
 */
export const FLAC_ALBUM = {
  artist: 'Test Lossless',
  album: 'Sine Studies',
  genre: 'Ambient',
  year: '2024',
  titles: ['First Tone', 'Second Tone'],
};
export const WAV_SINGLE = { artist: 'Wave Maker', album: 'Plain Wave', title: 'Plain Wave' };

const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);

export function makeMasters(dir: string): { good: string; bad: string } {
  const good = path.join(dir, 'good');
  const bad = path.join(dir, 'bad');
  fs.mkdirSync(path.join(good, 'flac-album'), { recursive: true });
  fs.mkdirSync(path.join(good, 'wav-single'), { recursive: true });
  fs.mkdirSync(bad, { recursive: true });
  const cover = path.join(dir, 'cover.png');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x3366aa:s=96x96:d=1', '-frames:v', '1', cover]);

  FLAC_ALBUM.titles.forEach((title, i) => {
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${330 + 110 * i}:duration=4:sample_rate=48000`,
      '-i',
      cover,
      '-map',
      '0:a',
      '-map',
      '1:v',
      '-c:v',
      'copy',
      '-disposition:v',
      'attached_pic',
      '-ac',
      '2',
      '-c:a',
      'flac',
      '-sample_fmt',
      's32',
      '-bits_per_raw_sample',
      '24',
      '-metadata',
      `title=${title}`,
      '-metadata',
      `artist=${FLAC_ALBUM.artist}`,
      '-metadata',
      `album=${FLAC_ALBUM.album}`,
      '-metadata',
      `track=${i + 1}`,
      '-metadata',
      `date=${FLAC_ALBUM.year}`,
      '-metadata',
      `genre=${FLAC_ALBUM.genre}`,
      path.join(good, 'flac-album', `0${i + 1} ${title}.flac`),
    ]);
  });
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=523:duration=3:sample_rate=44100',
    '-ac',
    '2',
    '-c:a',
    'pcm_s16le',
    '-metadata',
    `title=${WAV_SINGLE.title}`,
    '-metadata',
    `artist=${WAV_SINGLE.artist}`,
    '-metadata',
    `album=${WAV_SINGLE.album}`,
    path.join(good, 'wav-single', 'plain-wave.wav'),
  ]);

  // A FLAC cut off halfway through its audio.
  const whole = fs.readFileSync(path.join(good, 'flac-album', `01 ${FLAC_ALBUM.titles[0]}.flac`));
  fs.writeFileSync(path.join(bad, 'truncated.flac'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  // A WAV whose header has no 'fmt ' chunk.
  const wav = fs.readFileSync(path.join(good, 'wav-single', 'plain-wave.wav'));
  const broken = Buffer.from(wav);
  broken.write('junk', 12, 'latin1');
  fs.writeFileSync(path.join(bad, 'wrong-header.wav'), broken);
  // An MP3 named .flac.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=duration=2',
    '-c:a',
    'libmp3lame',
    '-metadata',
    'artist=Impostor',
    '-metadata',
    'title=Not Flac',
    '-f',
    'mp3',
    path.join(bad, 'really-an-mp3.flac'),
  ]);
  // Two hours of near-silence: small as FLAC, far longer than a track may be.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'anullsrc=r=8000:cl=mono',
    '-t',
    '7200',
    '-c:a',
    'flac',
    '-metadata',
    'artist=Long Player',
    '-metadata',
    'title=Two Hours',
    path.join(bad, 'two-hours.flac'),
  ]);
  return { good, bad };
}
