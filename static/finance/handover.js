// Show, while typing, each method's ticked receipts beside the amount handed and the difference.
(function () {
  const form = document.getElementById("handover-form");
  const fmt = (fen) => (fen < 0 ? "-¥" : "¥") + Math.floor(Math.abs(fen) / 100).toLocaleString("en") + "." + String(Math.abs(fen) % 100).padStart(2, "0");
  const toFen = (text) => {
    const m = /^\s*[¥￥]?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text.replace(/[,，]/g, ""));
    return text.trim() === "" ? 0 : m ? Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0")) : null;
  };
  function update() {
    const expected = {};
    form.querySelectorAll("input[name=payment_ids]:checked").forEach((box) => {
      expected[box.dataset.method] = (expected[box.dataset.method] || 0) + Number(box.dataset.fen);
    });
    form.querySelectorAll("[data-expected]").forEach((cell) => {
      const m = cell.dataset.expected, exp = expected[m] || 0, handed = toFen(form.querySelector("#amount_" + m).value);
      cell.textContent = fmt(exp);
      const diff = form.querySelector("[data-diff=" + m + "]");
      diff.textContent = handed === null ? "?" : fmt(handed - exp);
      diff.className = "num " + (handed === null || handed - exp < 0 ? "neg" : handed - exp > 0 ? "pos" : "zero");
    });
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
