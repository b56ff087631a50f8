// chart.js - a live line chart on a canvas: the last `span` seconds of a
// few series, scaled to the largest value shown, with a legend.
"use strict";

import { fmt } from "./dom.js";

export class LineChart {
  // series: [{key, label, color}]; format(value) labels the axis.
  constructor(canvas, series, { span = 300, format = fmt } = {}) {
    this.canvas = canvas;
    this.series = series;
    this.span = span;
    this.format = format;
    this.samples = []; // {t, values: {key: number}}
  }

  push(t, values) {
    this.samples.push({ t, values });
    while (this.samples.length && this.samples[0].t < t - this.span) this.samples.shift();
  }

  latest(key) {
    const s = this.samples[this.samples.length - 1];
    return s ? s.values[key] : undefined;
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth || 600, h = c.clientHeight || 160;
    if (c.width !== Math.round(w * ratio)) { c.width = Math.round(w * ratio); c.height = Math.round(h * ratio); }
    const ctx = c.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const left = 64, right = 8, top = 22, bottom = 18;
    const now = this.samples.length ? this.samples[this.samples.length - 1].t : 0;
    let max = 0;
    for (const s of this.samples) for (const { key } of this.series) max = Math.max(max, s.values[key] || 0);
    max = max > 0 ? max * 1.1 : 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = "#2d3843";
    ctx.fillStyle = "#8b98a5";
    for (let i = 0; i <= 4; i++) {
      const y = top + (h - top - bottom) * (1 - i / 4);
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w - right, y); ctx.stroke();
      ctx.fillText(this.format((max * i) / 4), 4, y + 4);
    }
    ctx.fillText(`−${Math.round(this.span / 60)} min`, left, h - 4);
    ctx.fillText("now", w - right - 22, h - 4);
    const x = (t) => left + ((t - (now - this.span)) / this.span) * (w - left - right);
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    let lx = left;
    for (const { key, label, color } of this.series) {
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      this.samples.forEach((s, i) => {
        const v = s.values[key] || 0;
        if (i === 0) ctx.moveTo(x(s.t), y(v)); else ctx.lineTo(x(s.t), y(v));
      });
      ctx.stroke();
      ctx.fillStyle = color;
      const text = `${label} ${this.format(this.latest(key) || 0)}`;
      ctx.fillRect(lx, 6, 10, 3);
      ctx.fillText(text, lx + 14, 12);
      lx += ctx.measureText(text).width + 34;
    }
  }
}
