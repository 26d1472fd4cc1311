// Render the math that pymdownx.arithmatex marks up (class "arithmatex", \( \) and \[ \]) with
// KaTeX, again after every page change of Material's instant navigation.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
