import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig, loadDotEnv } from '../config.js';
import { createLocalStorage } from '../media/local-storage.js';
import { migrateMedia } from '../media/migrate.js';
import { createS3Storage } from '../media/s3-storage.js';

export function registerMediaCommands(program: Command): void {
  const media = program.command('media').description('Media storage: the local folder (MEDIA_DIR) or S3-compatible object storage (S3_*).');
  media
    .command('migrate')
    .description(
      'Copy every media object into the bucket (--to s3) or back into MEDIA_DIR (--to local), verifying each SHA-256. Safe to run again: what is already there is checked and skipped. Set MEDIA_STORAGE afterwards.',
    )
    .requiredOption('--to <storage>', 'where the media goes: s3 or local')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (options: { to: string; progress: boolean }) => {
      if (options.to !== 's3' && options.to !== 'local') throw new Error('--to must be s3 or local');
      loadDotEnv();
      const config = loadConfig();
      if (!config.media.s3)
        throw new Error('S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set to migrate to or from the bucket');
      const folder = createLocalStorage(config.media.dir);
      const bucket = createS3Storage(config.media.s3);
      const [from, to] = options.to === 's3' ? [folder, bucket] : [bucket, folder];
      console.log(`Copying media from ${from.location} to ${to.location}`);
      const bar = new SingleBar({ format: 'Copying [{bar}] {value}/{total} objects | {key}', hideCursor: true }, Presets.shades_classic);
      const showBar = options.progress && process.stdout.isTTY;
      const summary = await migrateMedia(from, to, {
        onStart: (total) => showBar && bar.start(total, 0, { key: '' }),
        onObject: (done, key) => showBar && bar.update(done, { key: key.slice(-40) }),
      }).finally(() => showBar && bar.stop());
      console.log(
        `${summary.objects} objects: ${summary.copied} copied (${summary.bytes} bytes), ${summary.alreadyThere} already there; every SHA-256 verified.`,
      );
      if ((config.media.storage.kind === 's3') !== (options.to === 's3'))
        console.log(`Now set MEDIA_STORAGE=${options.to} and restart the store.`);
    });
}
