// Template gallery: filter the cards as the user types or picks a trigger/category.
// The form still works without this script (the server filters the same way).
(function () {
  "use strict";

  const form = document.getElementById("gallery-filters");
  const list = document.getElementById("gallery-cards");
  if (!form || !list) return;

  const search = form.elements.namedItem("q");
  const trigger = form.elements.namedItem("trigger");
  const category = form.elements.namedItem("category");
  const count = document.getElementById("gallery-count");
  const empty = document.getElementById("gallery-empty");
  const total = Number(list.dataset.total || list.children.length);

  function matches(card, words) {
    if (trigger.value && !card.dataset.triggers.split(" ").includes(trigger.value)) return false;
    if (category.value && card.dataset.category !== category.value) return false;
    const haystack = card.dataset.search;
    return words.every((word) => haystack.includes(word));
  }

  function syncUrl() {
    const params = new URLSearchParams();
    for (const field of [search, trigger, category]) {
      if (field.value.trim()) params.set(field.name, field.value.trim());
    }
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
  }

  function apply() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const card of list.children) {
      const visible = matches(card, words);
      // The detail page preselects the trigger the user filtered by.
      const link = card.querySelector("a");
      const url = new URL(link.href);
      if (trigger.value) url.searchParams.set("trigger", trigger.value);
      else url.searchParams.delete("trigger");
      link.href = url.toString();
      card.hidden = !visible;
      if (visible) shown += 1;
    }
    count.textContent = `${shown} of ${total} templates`;
    empty.hidden = shown !== 0;
    syncUrl();
  }

  search.addEventListener("input", apply);
  trigger.addEventListener("change", apply);
  category.addEventListener("change", apply);
  form.addEventListener("submit", (event) => {
    event.preventDefault(); // every card is on the page already
    apply();
  });
})();
