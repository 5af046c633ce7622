// The Jupyter widgets HTML manager typesets widget labels with the MathJax 2 call
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]). The book loads MathJax 3, which
// has no Hub, so that call threw "Cannot read properties of undefined (reading 'Queue')".
// Loaded with `defer` after MathJax 3, this routes the call to MathJax.typesetPromise.
(function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || !mj.startup) return;
  mj.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (command) {
        var element = Array.isArray(command) ? command[2] : undefined;
        mj.startup.promise
          .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
          .catch(function (err) { console.error("MathJax typeset of a widget failed:", err); });
      });
    },
  };
})();
