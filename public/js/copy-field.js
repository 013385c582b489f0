// Progressive enhancement: without this script the link sits in a read-only field the affiliate
// selects and copies by hand. With it, each field's Copy button appears and copies in one press.
(function () {
  'use strict';
  if (!navigator.clipboard) return;
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      field.select();
      navigator.clipboard.writeText(field.value).then(
        function () {
          button.textContent = 'Copied';
          setTimeout(function () {
            button.textContent = 'Copy';
          }, 2000);
        },
        function () {
          button.textContent = 'Select and copy';
        },
      );
    });
  });
  // A click in a field selects the whole link, ready to copy.
  document.querySelectorAll('.copy-field__input').forEach(function (field) {
    field.addEventListener('focus', function () {
      field.select();
    });
  });
})();
