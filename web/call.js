// Call mode: hands-free. Voice activity detection runs in the page (Silero VAD on onnxruntime-web, both
// served by Samantha from web/vendor/vad/, never from a CDN): each phrase the person says is sent to be
// transcribed and then sent as their message; speaking while she talks stops her (barge-in, like Stop).

import { wavFile } from "./voice-audio.js";

// Absolute: onnxruntime-web imports its WebAssembly glue from here, and import() needs a full URL.
const VAD = new URL("static/vendor/vad/", document.baseURI).href;

let loading = null;
/** Load onnxruntime-web and the VAD bundle once (their scripts define `ort` and `vad`). */
function loadVad() {
  const script = (src) =>
    new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = () => reject(new Error(`${src} is missing (run \`make vad\`)`));
      document.head.append(tag);
    });
  loading ??= script(`${VAD}ort.wasm.min.js`).then(() => script(`${VAD}bundle.min.js`));
  return loading.catch((error) => {
    loading = null;
    throw error;
  });
}

/**
 * One call. Hooks: heard(wavBytes) when a phrase ends, interrupt() when the person starts talking,
 * state(name) with listening | hearing | muted | ended.
 */
export class Call {
  constructor({ heard, interrupt, state }) {
    this.hooks = { heard, interrupt, state };
    this.vad = null;
    this.muted = false;
  }

  async start() {
    await loadVad();
    window.ort.env.wasm.numThreads = 1; // no worker threads: one small model, and a strict page policy
    this.vad = await window.vad.MicVAD.new({
      model: "v5",
      baseAssetPath: VAD,
      onnxWASMBasePath: VAD,
      startOnLoad: false,
      redemptionMs: 900, // the pause that ends a phrase (the library's 1.4 s made her seem slow to answer)
      onSpeechStart: () => {
        this.hooks.interrupt();
        this.hooks.state("hearing");
      },
      onSpeechEnd: (samples) => {
        this.hooks.state("listening");
        this.hooks.heard(wavFile(samples));
      },
      onVADMisfire: () => this.hooks.state("listening"), // too short to be speech
    });
    await this.vad.start();
    this.hooks.state("listening");
  }

  /** Mute: the microphone is released until unmuted. */
  async setMuted(muted) {
    this.muted = muted;
    if (!this.vad) return;
    if (muted) await this.vad.pause();
    else await this.vad.start();
    this.hooks.state(muted ? "muted" : "listening");
  }

  async end() {
    const vad = this.vad;
    this.vad = null;
    if (vad) await vad.destroy();
    this.hooks.state("ended");
  }
}
