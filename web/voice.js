// Voice: replies read aloud (speechSynthesis) and dictation (SpeechRecognition). Each control is
// shown only when the browser has the API behind it.

const SPEAK_KEY = "samantha.readAloud";

const DICTATION_ERRORS = {
  "not-allowed": "the microphone is not allowed for this page",
  "service-not-allowed": "the browser's speech service is not allowed",
  "no-speech": "I didn't hear anything",
  "audio-capture": "no microphone was found",
  network: "the browser's speech service can't be reached",
};

/** The text a voice should say: her reply without the formatting marks. */
function spoken(text) {
  return text.replace(/\*\*?([^*]+)\*\*?/g, "$1").replace(/^\s*[-•]\s+/gm, "");
}

/**
 * Wire the read-aloud toggle and the microphone button.
 * Returns {speak(text), silence()}; both do nothing when reading aloud is off or unsupported.
 */
export function setupVoice({ toggle, mic, input, notify }) {
  const synth = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window ? window.speechSynthesis : null;
  let readAloud = false;

  if (synth) {
    toggle.hidden = false;
    const set = (on) => {
      readAloud = on;
      toggle.setAttribute("aria-pressed", String(on));
      localStorage.setItem(SPEAK_KEY, on ? "on" : "off");
      if (!on) synth.cancel();
    };
    set(localStorage.getItem(SPEAK_KEY) === "on");
    toggle.addEventListener("click", () => set(!readAloud));
  }

  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition) {
    mic.hidden = false;
    let recognition = null;
    mic.addEventListener("click", () => {
      if (recognition) {
        recognition.stop();
        return;
      }
      recognition = new Recognition();
      recognition.lang = document.documentElement.lang || navigator.language || "en";
      recognition.interimResults = true;
      const before = input.value && !input.value.endsWith(" ") ? `${input.value} ` : input.value;
      recognition.addEventListener("result", (event) => {
        const heard = Array.from(event.results, (result) => result[0].transcript).join("");
        input.value = before + heard;
        input.dispatchEvent(new Event("input"));
      });
      recognition.addEventListener("error", (event) => {
        notify(`Dictation stopped: ${DICTATION_ERRORS[event.error] || event.error}.`);
      });
      recognition.addEventListener("end", () => {
        recognition = null;
        mic.setAttribute("aria-pressed", "false");
        input.focus();
      });
      mic.setAttribute("aria-pressed", "true");
      try {
        recognition.start();
      } catch (error) {
        recognition = null;
        mic.setAttribute("aria-pressed", "false");
        notify(`Dictation could not start: ${error.message}`);
      }
    });
  }

  return {
    speak(text) {
      if (!synth || !readAloud || !text.trim()) return;
      const utterance = new SpeechSynthesisUtterance(spoken(text));
      utterance.lang = document.documentElement.lang || "en";
      synth.speak(utterance);
    },
    silence() {
      if (synth) synth.cancel();
    },
  };
}
