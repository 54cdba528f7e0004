/**
 * A small PNG reader for screenshot assertions: 8-bit RGB or RGBA, not interlaced (what
 * Chromium writes). Returns the pixel at (x, y) as [r, g, b].
 */
import { inflateSync } from 'node:zlib';

/** A decoded image. */
export interface Png {
  readonly width: number;
  readonly height: number;
  pixel(x: number, y: number): [number, number, number];
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decode a PNG buffer. */
export function readPng(buf: Buffer): Png {
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const color = data[9];
      if (depth !== 8 || (color !== 2 && color !== 6) || data[12] !== 0) {
        throw new Error(`PNG: unsupported format (depth ${depth}, colour type ${color})`);
      }
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)] as number;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] as number;
      const a = i >= channels ? (out[y * stride + i - channels] as number) : 0;
      const b = y > 0 ? (out[(y - 1) * stride + i] as number) : 0;
      const c = i >= channels && y > 0 ? (out[(y - 1) * stride + i - channels] as number) : 0;
      const v = f === 0 ? x : f === 1 ? x + a : f === 2 ? x + b : f === 3 ? x + ((a + b) >> 1) : x + paeth(a, b, c);
      out[y * stride + i] = v & 0xff;
    }
  }
  return {
    width,
    height,
    pixel(x: number, y: number): [number, number, number] {
      const o = y * stride + x * channels;
      return [out[o] as number, out[o + 1] as number, out[o + 2] as number];
    },
  };
}
