// Sound in the page: her voice played from the server's audio frames, in order and stoppable at once,
// and the microphone's samples written as a WAV file for the server to transcribe.

/** Plays her sentences one after another; stop() silences her mid-word. Events: "speaking", "quiet". */
export class VoicePlayer extends EventTarget {
  constructor() {
    super();
    this.context = null;
    this.sources = new Set();
    this.chain = Promise.resolve(); // decoding is asynchronous; sentences must still play in order
    this.endsAt = 0;
    this.generation = 0; // a stop() makes sentences still being decoded drop silently
  }

  /** Create (or wake) the audio output; call it from a click so the browser lets her speak. */
  unlock() {
    if (!this.context) this.context = new AudioContext();
    if (this.context.state === "suspended") this.context.resume().catch(() => {});
    return this.context;
  }

  get speaking() {
    return this.sources.size > 0;
  }

  /** Queue one sentence: a WAV file, base64-encoded as the `audio` frame carries it. */
  play(base64) {
    const generation = this.generation;
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    this.chain = this.chain
      .then(async () => {
        const context = this.unlock();
        const buffer = await context.decodeAudioData(bytes.buffer);
        if (generation !== this.generation) return;
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.connect(context.destination);
        this.endsAt = Math.max(this.endsAt, context.currentTime + 0.05);
        source.start(this.endsAt);
        this.endsAt += buffer.duration;
        this.sources.add(source);
        if (this.sources.size === 1) this.dispatchEvent(new Event("speaking"));
        source.addEventListener("ended", () => this._ended(source));
      })
      .catch((error) => console.warn("a sentence could not be played:", error));
  }

  /** Silence her now and forget what was queued. */
  stop() {
    this.generation += 1;
    this.endsAt = 0;
    for (const source of [...this.sources]) {
      try {
        source.stop();
      } catch {
        // not started yet: nothing to stop
      }
      this._ended(source);
    }
  }

  _ended(source) {
    if (!this.sources.delete(source)) return;
    if (this.sources.size === 0) this.dispatchEvent(new Event("quiet"));
  }
}

/** 16-bit mono WAV bytes from float samples in [-1, 1] (what the VAD hands over at 16 kHz). */
export function wavFile(samples, sampleRate = 16000) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 0x7fff, true));
  return view.buffer;
}
