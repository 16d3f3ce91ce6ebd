// Photos and signatures as blobs addressed by their SHA-256, ready for PUT /api/sync/blobs/<sha>.

export const MAX_SIDE = 1280;
export const MAX_BYTES = 2 * 1024 * 1024;

/** Return the lowercase hex SHA-256 of bytes. */
export async function sha256Bytes(bytes) {
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Return the size that fits within MAX_SIDE on both sides, keeping the shape. */
export function fitSize(width, height, maxSide = MAX_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

async function canvasBytes(canvas, type, quality) {
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, type, quality));
  return new Uint8Array(await blob.arrayBuffer()).buffer;
}

/** Shrink a photo File to a JPEG of at most 1280 px a side (and 2 MB); return {sha, type, bytes}. */
export async function shrinkPhoto(file) {
  const bitmap = await createImageBitmap(file);
  const size = fitSize(bitmap.width, bitmap.height);
  const canvas = document.createElement("canvas");
  canvas.width = size.width;
  canvas.height = size.height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // transparent PNGs become white, not black, in JPEG
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.drawImage(bitmap, 0, 0, size.width, size.height);
  bitmap.close?.();
  let bytes = null;
  for (const quality of [0.82, 0.7, 0.55, 0.4]) {
    bytes = await canvasBytes(canvas, "image/jpeg", quality);
    if (bytes.byteLength <= MAX_BYTES) break;
  }
  return { sha: await sha256Bytes(bytes), type: "image/jpeg", bytes };
}

/** Turn a canvas into a signature pad; returns {isEmpty(), clear(), toBlob()}. */
export function signaturePad(canvas) {
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let strokes = 0;
  const resize = () => {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = canvas.clientWidth * ratio;
    canvas.height = canvas.clientHeight * ratio;
    ctx.scale(ratio, ratio);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#000";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    strokes = 0;
  };
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  canvas.style.touchAction = "none"; // the finger draws; it does not scroll the page
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture?.(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...point(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...point(e));
    ctx.stroke();
    strokes += 1;
  });
  const end = () => {
    drawing = false;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  requestAnimationFrame(resize);
  return {
    isEmpty: () => strokes === 0,
    clear: resize,
    async toBlob() {
      const bytes = await canvasBytes(canvas, "image/png");
      return { sha: await sha256Bytes(bytes), type: "image/png", bytes };
    },
  };
}
