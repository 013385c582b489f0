// Progressive enhancement: without this script a preview link simply opens the MP3 in the browser.
// With it, each link becomes a real toggle button (Tab to it, Space or Enter plays and pauses,
// aria-pressed says whether it is playing) and previews play in one small player at the bottom
// of the page while the shopper stays put.
(function () {
  'use strict';
  var player = document.getElementById('player');
  var audio = document.getElementById('player-audio');
  var title = document.getElementById('player-title');
  if (!player || !audio || !title) return;
  var current = null;

  function toButton(link) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = link.className;
    button.setAttribute('data-preview', '');
    button.setAttribute('data-src', link.getAttribute('href'));
    button.setAttribute('data-title', link.getAttribute('data-title') || '');
    button.setAttribute('aria-pressed', 'false');
    if (link.title) button.title = link.title;
    while (link.firstChild) button.appendChild(link.firstChild);
    link.replaceWith(button);
  }
  Array.prototype.forEach.call(document.querySelectorAll('a[data-preview]'), toButton);

  function mark(button, playing) {
    if (!button) return;
    button.classList.toggle('is-playing', playing);
    button.setAttribute('aria-pressed', playing ? 'true' : 'false');
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button[data-preview]');
    if (!button) return;
    if (current === button && !audio.paused) {
      audio.pause();
      return;
    }
    if (current !== button) {
      mark(current, false);
      current = button;
      audio.src = button.getAttribute('data-src');
      title.textContent = button.getAttribute('data-title') || '';
    }
    player.hidden = false;
    audio.play().catch(function () {
      mark(current, false);
    });
  });

  audio.addEventListener('play', function () {
    mark(current, true);
  });
  audio.addEventListener('pause', function () {
    mark(current, false);
  });
  audio.addEventListener('ended', function () {
    mark(current, false);
  });
})();
