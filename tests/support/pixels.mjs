// Reads a PNG screenshot's pixels in a blank Chromium page (no image library needed): for each
// rectangle (CSS pixels of the screenshot, device scale 1), how many pixels are "ink" (far from
// the rectangle's most common colour: text, lines, markers drawn on a background) and, given a
// colour, what share of the pixels is that colour.
export async function inspectPixels(browser, png, rects, color = null) {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async ({ b64, rects, color }) => {
      const image = new Image();
      image.src = `data:image/png;base64,${b64}`;
      await image.decode();
      const canvas = new OffscreenCanvas(image.width, image.height);
      const context = canvas.getContext('2d', { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      return rects.map(rect => {
        const x = Math.max(0, Math.floor(rect.x));
        const y = Math.max(0, Math.floor(rect.y));
        const w = Math.min(image.width, Math.ceil(rect.x + rect.width)) - x;
        const h = Math.min(image.height, Math.ceil(rect.y + rect.height)) - y;
        if (w <= 0 || h <= 0) return { ink: 0, share: 0, pixels: 0 };
        const d = context.getImageData(x, y, w, h).data;
        const counts = new Map();
        for (let i = 0; i < d.length; i += 4) { const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2]; counts.set(key, (counts.get(key) ?? 0) + 1); }
        const bg = [...counts].sort((a, b) => b[1] - a[1])[0][0];
        const [br, bgc, bb] = [(bg >> 16) & 255, (bg >> 8) & 255, bg & 255];
        let ink = 0; let same = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - br) + Math.abs(d[i + 1] - bgc) + Math.abs(d[i + 2] - bb) > 90) ink++;
          if (color && Math.abs(d[i] - color[0]) + Math.abs(d[i + 1] - color[1]) + Math.abs(d[i + 2] - color[2]) < 12) same++;
        }
        return { ink, share: same / (w * h), pixels: w * h };
      });
    }, { b64: png.toString('base64'), rects, color });
  } finally {
    await page.close();
  }
}
