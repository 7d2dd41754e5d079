/* The listing form in steps on a narrow screen. A progressive enhancement: without
   JavaScript, or on a wide screen, every step shows one under another and the form posts
   as one. Here, on a phone, one step shows at a time with Back and Next buttons; the last
   lists what was typed before Publish. Nothing is posted between steps, so nothing is lost,
   and the server still checks everything: when it sends the form back with messages, the
   step of the first message opens. The CSP allows no inline script, hence this file; its
   words are the form's data- attributes, in the page's language. */
(function () {
  "use strict";

  var NARROW = "(max-width: 47.99rem)";

  function labelOf(form, control) {
    var label = control.id && form.querySelector('label[for="' + control.id + '"]');
    return label ? label.textContent.trim() : control.name;
  }

  function shownValue(form, control) {
    if (control.type === "checkbox" || control.type === "radio") {
      return control.checked ? form.dataset.yes : "";
    }
    if (control.type === "file") {
      return control.files && control.files.length ? control.files[0].name : "";
    }
    if (control.tagName === "SELECT") {
      return control.value ? control.options[control.selectedIndex].text : "";
    }
    return control.value.trim();
  }

  function fillReview(form, steps, review) {
    var list = document.createElement("dl");
    list.className = "review";
    steps.forEach(function (step) {
      step.querySelectorAll("input, select, textarea").forEach(function (control) {
        var value = control.type === "hidden" ? "" : shownValue(form, control);
        if (!value) return;
        var term = document.createElement("dt");
        var detail = document.createElement("dd");
        term.textContent = labelOf(form, control);
        detail.textContent = value;
        list.appendChild(term);
        list.appendChild(detail);
      });
    });
    var heading = document.createElement("p");
    heading.textContent = list.children.length
      ? form.dataset.reviewHeading : form.dataset.reviewEmpty;
    review.replaceChildren(heading, list);
  }

  function button(text, secondary, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    if (secondary) element.className = "secondary";
    element.addEventListener("click", onClick);
    return element;
  }

  function setUp(form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("fieldset.step"));
    var review = form.querySelector("[data-review]");
    var links = document.querySelectorAll('ol.steps a[href^="#step-"]');
    var narrow = window.matchMedia(NARROW);
    var current = 0;
    var firstError = form.querySelector(".has-error, .error");
    steps.forEach(function (step, index) {
      if (firstError && step.contains(firstError) && current === 0) current = index;
    });

    function show(index, moveFocus) {
      var stepped = narrow.matches;
      current = index;
      form.classList.toggle("stepped", stepped);
      steps.forEach(function (step, i) { step.hidden = stepped && i !== index; });
      links.forEach(function (link) {
        var on = stepped && link.getAttribute("href") === "#" + steps[index].id;
        if (on) link.setAttribute("aria-current", "step");
        else link.removeAttribute("aria-current");
      });
      if (review) {
        review.hidden = !stepped || index !== steps.length - 1;
        if (!review.hidden) fillReview(form, steps.slice(0, -1), review);
      }
      // Leaflet measures its box when the window resizes: a map in a step that was hidden
      window.dispatchEvent(new Event("resize"));
      if (moveFocus && stepped) {
        steps[index].focus();
        steps[index].scrollIntoView({ block: "start" });
      }
    }

    steps.forEach(function (step, index) {
      step.tabIndex = -1;  // so moving to a step moves the focus to its legend's group
      var nav = document.createElement("p");
      nav.className = "step-nav";
      if (index > 0) {
        nav.appendChild(button(form.dataset.back, true, function () { show(index - 1, true); }));
      }
      if (index < steps.length - 1) {
        nav.appendChild(button(form.dataset.next, false, function () { show(index + 1, true); }));
      }
      if (nav.children.length) step.appendChild(nav);
    });
    links.forEach(function (link) {
      link.addEventListener("click", function (event) {
        var index = steps.findIndex(function (step) {
          return link.getAttribute("href") === "#" + step.id;
        });
        if (!narrow.matches || index < 0) return;
        event.preventDefault();
        show(index, true);
      });
    });
    narrow.addEventListener("change", function () { show(current, false); });
    show(current, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-steps]").forEach(setUp);
  });
})();
