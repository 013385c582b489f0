// The Google Analytics tag: served only to a visitor who accepted cookies (src/privacy/routes.ts),
// from a file of ours so that the Content-Security-Policy needs no inline script.
(function () {
  var script = document.currentScript;
  var id = script && script.getAttribute('data-measurement-id');
  if (!id) return;
  window.dataLayer = window.dataLayer || [];
  function gtag() {
    window.dataLayer.push(arguments);
  }
  gtag('js', new Date());
  gtag('config', id);
  var tag = document.createElement('script');
  tag.async = true;
  tag.src = 'https://www.googletagmanager.com/gtag/js?id=' + encodeURIComponent(id);
  document.head.appendChild(tag);
})();
