// A listing's gallery: a thumbnail shows its photo large without loading the page again.
// Without this file each thumbnail is a link to ?photo=N, which does the same on the server.
(function () {
  "use strict";
  var gallery = document.getElementById("gallery");
  if (!gallery) return;
  var main = gallery.querySelector('[data-gallery="main"]');
  var link = gallery.querySelector('[data-gallery="link"]');
  var caption = gallery.querySelector('[data-gallery="caption"]');
  var thumbs = gallery.querySelectorAll('[data-gallery="thumb"]');
  Array.prototype.forEach.call(thumbs, function (thumb) {
    thumb.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      var photo = thumb.querySelector("img");
      main.src = thumb.dataset.src;
      main.alt = photo.alt;
      main.width = Number(thumb.dataset.width);
      main.height = Number(thumb.dataset.height);
      link.href = thumb.dataset.src;
      if (caption) caption.textContent = thumb.dataset.caption;
      Array.prototype.forEach.call(thumbs, function (other) {
        other.removeAttribute("aria-current");
      });
      thumb.setAttribute("aria-current", "true");
      history.replaceState(null, "", thumb.href);
    });
  });
})();
