// Search results with excerpts over file://. Sphinx's search (searchtools.js) fetches each
// result's page to cut an excerpt from it, and Chromium refuses fetch() on file:// (a CORS
// error per result, then an uncaught "Failed to fetch"). The build wrote the text of every
// page into search-texts.js (window.BOOK_SEARCH_TEXTS, _ext/offline_html.py): answer those
// fetches from it. Over http(s) nothing changes.
(function () {
  var texts = window.BOOK_SEARCH_TEXTS;
  if (location.protocol !== "file:" || !texts) return;
  var root = new URL(document.documentElement.dataset.content_root || "./", location.href);
  var pages = new Map();
  Object.keys(texts).forEach(function (doc) {
    pages.set(new URL(doc + DOCUMENTATION_OPTIONS.FILE_SUFFIX, root).href, texts[doc]);
  });
  var fetchOnline = window.fetch;
  window.fetch = function (resource, options) {
    var url = new URL(resource.url || resource, location.href);
    if (url.protocol !== "file:") return fetchOnline.call(window, resource, options);
    url.hash = "";
    url.search = "";
    // a page the build has no text of: no excerpt, rather than a failed request
    var page = pages.get(url.href) || "";
    return Promise.resolve(new Response(page, { headers: { "Content-Type": "text/html" } }));
  };
})();
