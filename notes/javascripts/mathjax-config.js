// MathJax 3, served with the site (notes/hooks/mathjax.py copies it from a package): typeset
// what pymdownx.arithmatex marks, \( ... \) inline and \[ ... \] displayed, nothing else.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
