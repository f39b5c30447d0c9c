"""Her voice and ears over HTTP: OpenAI's /v1/audio/speech and /v1/audio/transcriptions, and /api/voice.

Clients that speak OpenAI's audio API (Open WebUI, SillyTavern, the openai SDK) use them as they are.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from app.routes.deps import get_services
from app.routes.openai_api import ApiUserDep
from app.routes.openai_models import APIError, ErrorBody, ErrorDetail, OpenAIRoute
from app.voice.audio import CONTENT_TYPES, AudioError, AudioFormat, encode
from app.voice.service import MAX_SPEECH_CHARS, Voice
from app.voice.stt import Transcript

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/audio", tags=["openai"], route_class=OpenAIRoute)
page_router = APIRouter(tags=["voice"])
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in (400, 401, 413, 500, 503)}

# OpenAI's voice names: clients send one of these (Open WebUI's default is "alloy"); each means her voice.
OPENAI_VOICES = frozenset(
    "alloy ash ballad coral echo fable onyx nova sage shimmer verse marin cedar".split()
)
_STATUS = {
    "voice_off": 503,
    "listen_off": 503,
    "voice_failed": 500,
    "listen_failed": 500,
    "audio_too_large": 413,
}


def get_voice(conn: HTTPConnection) -> Voice:
    """Her voice and ears, loaded (lazily) by the lifespan."""
    voice: Voice = conn.app.state.voice
    return voice


def audio_error(exc: AudioError, param: str | None = None) -> APIError:
    """An AudioError as OpenAI's error, with the status it deserves."""
    detail = ErrorDetail(message=exc.message, code=exc.code, param=param)
    if _STATUS.get(exc.code, 400) >= 500:
        detail.type = "server_error"
    return APIError(_STATUS.get(exc.code, 400), detail)


class SpeechRequest(BaseModel):
    """OpenAI's text-to-speech request; fields she has no use for (instructions) are accepted."""

    model_config = ConfigDict(extra="ignore")

    model: str = "tts-1"
    input: str = Field(min_length=1, max_length=MAX_SPEECH_CHARS)
    voice: str = "alloy"
    response_format: AudioFormat = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = None
    stream_format: Literal["audio"] = "audio"  # not "sse": the audio comes whole


@router.post(
    "/speech",
    responses={200: {"content": {t: {} for t in CONTENT_TYPES.values()}}, **ERRORS},
    response_class=Response,
)
async def speech(body: SpeechRequest, request: Request, _user: ApiUserDep) -> Response:
    """Say `input` in her voice (OpenAI's voice names all mean hers; her own voice names pick one)."""
    voice = get_voice(request)
    name = None if body.voice in OPENAI_VOICES else body.voice
    try:
        said = await voice.say_all(body.input, voice=name, speed=body.speed)
        audio = encode(said, body.response_format)
    except AudioError as exc:
        raise audio_error(exc, "voice" if exc.code == "unknown_voice" else "input") from exc
    return Response(audio, media_type=CONTENT_TYPES[body.response_format])


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02}:{ms // 60_000 % 60:02}:{ms // 1000 % 60:02}{sep}{ms % 1000:03}"


def _subtitles(heard: Transcript, vtt: bool) -> str:
    cues = []
    for n, seg in enumerate(heard.segments, 1):
        sep = "." if vtt else ","
        span = f"{_stamp(seg.start, sep)} --> {_stamp(seg.end, sep)}"
        cues.append(f"{span}\n{seg.text}" if vtt else f"{n}\n{span}\n{seg.text}")
    return ("WEBVTT\n\n" if vtt else "") + "\n\n".join(cues) + "\n"


@router.post("/transcriptions", responses={200: {"content": {"text/plain": {}}}, **ERRORS})
async def transcriptions(
    request: Request,
    _user: ApiUserDep,
    file: Annotated[UploadFile, File(description="The audio: WAV, MP3, Ogg/Opus, WebM, FLAC, M4A...")],
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[Literal["json", "text", "srt", "verbose_json", "vtt"], Form()] = "json",
    temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
) -> Response:
    """Write down what was said (in English: her ears are Whisper tiny.en)."""
    if language and language.lower() not in ("en", "english"):
        raise APIError(
            400,
            ErrorDetail(
                message=f"I understand spoken English only (Whisper tiny.en), not {language!r}",
                param="language",
                code="unsupported_language",
            ),
        )
    limit = get_services(request).settings.max_audio_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        too_big = AudioError(
            "audio_too_large", f"the audio file is over {limit} bytes; raise --max-audio-bytes to allow it"
        )
        raise audio_error(too_big, "file")
    try:
        heard = await get_voice(request).hear(data, prompt=prompt)
    except AudioError as exc:
        raise audio_error(exc, "file") from exc
    match response_format:
        case "text":
            return PlainTextResponse(heard.text + "\n")
        case "srt" | "vtt":
            return PlainTextResponse(_subtitles(heard, response_format == "vtt"))
        case "verbose_json":
            segments = [
                {"id": n, "start": s.start, "end": s.end, "text": s.text}
                for n, s in enumerate(heard.segments)
            ]
            return JSONResponse(
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": round(heard.seconds, 3),
                    "text": heard.text,
                    "segments": segments,
                }
            )
    return JSONResponse({"text": heard.text})


class VoiceStatus(BaseModel):
    """What the server can do with voice: which voice she speaks in, the others, whether she listens."""

    voice: str | None
    voices: list[str]
    listen: bool


@page_router.get("/api/voice")
async def voice_status(request: Request) -> VoiceStatus:
    """Her voice and ears as configured (the page shows its voice controls from this)."""
    return VoiceStatus.model_validate(get_voice(request).status())


@router.api_route("/speech", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@router.api_route("/transcriptions", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def wrong_method(request: Request) -> Response:
    """Another method on an audio path: 405, in OpenAI's shape (the /v1 catch-all would say 404)."""
    message = f"{request.url.path} takes POST, not {request.method}"
    body = ErrorBody(error=ErrorDetail(message=message, code="method_not_allowed")).model_dump()
    return JSONResponse(body, status_code=405, headers={"Allow": "POST"})
