// The widget manager (html-manager/embed-amd.js) loads its chunks with require.js; resolve
// them next to this file, inside the book, so that no page needs the network.
require.config({ baseUrl: new URL(".", document.currentScript.src).href });

// html-manager 1.x typesets widget labels with the MathJax 2 API, MathJax.Hub.Queue(["Typeset",
// MathJax.Hub, element]); the book loads MathJax 3. Map that call onto MathJax 3's typesetPromise.
(function () {
  function addHub() {
    if (window.MathJax && !window.MathJax.Hub) {
      window.MathJax.Hub = {
        Queue: function (job) {
          var mj = window.MathJax;
          var element = Array.isArray(job) ? job[2] : undefined;
          if (mj.startup && mj.startup.promise && mj.typesetPromise) {
            mj.startup.promise.then(function () { return mj.typesetPromise(element ? [element] : undefined); });
          }
        },
      };
    }
  }
  addHub(); // on the configuration object, before MathJax 3 loads (deferred)
  document.addEventListener("DOMContentLoaded", addHub); // on MathJax 3 itself, once loaded
})();
