// Progressive enhancement: without this script a preview link simply opens the MP3 in the browser.
// With it, previews play in one small player at the bottom of the page and the shopper stays put.
(function () {
  'use strict';
  var player = document.getElementById('player');
  var audio = document.getElementById('player-audio');
  var title = document.getElementById('player-title');
  if (!player || !audio || !title) return;
  var current = null;

  function mark(link, playing) {
    if (!link) return;
    link.classList.toggle('is-playing', playing);
    link.setAttribute('aria-pressed', playing ? 'true' : 'false');
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[data-preview]');
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    if (current === link && !audio.paused) { audio.pause(); return; }
    if (current !== link) {
      mark(current, false);
      current = link;
      audio.src = link.getAttribute('href');
      title.textContent = link.getAttribute('data-title') || '';
    }
    player.hidden = false;
    audio.play().catch(function () { mark(current, false); });
  });

  audio.addEventListener('play', function () { mark(current, true); });
  audio.addEventListener('pause', function () { mark(current, false); });
  audio.addEventListener('ended', function () { mark(current, false); });
})();
