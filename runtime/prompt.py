"""The chat prompt with `<video>` placeholders, laid out identically for PyTorch and ONNX.

Both sides tokenize with the bundle's tokenizer.json through `tokenizers`, piece by piece around
the placeholders, so a prompt gives the same token ids whichever engine runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIDEO = "<video>"
SYSTEM = "You are StepDiff. You compare cooking videos step by step and name the differences."
COMPARE_QUESTION = (
    "Video 1 is the reference step. Video 2 is the same step done by someone else. "
    "What did video 2 do differently?"
)


def chat_text(user: str, system: str = SYSTEM) -> str:
    """SmolLM2's ChatML, the same text its chat_template.jinja renders for one user turn."""
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def compare_prompt(num_videos: int = 2, question: str = COMPARE_QUESTION) -> str:
    """The user turn: one placeholder per video, then the question."""
    if VIDEO in question:
        return question
    return "".join(f"Video {i + 1}: {VIDEO}\n" for i in range(num_videos)) + question


@dataclass(frozen=True)
class PromptLayout:
    """Token ids of the text pieces between videos; len(pieces) == num_videos + 1."""

    pieces: tuple[tuple[int, ...], ...]

    @property
    def num_videos(self) -> int:
        return len(self.pieces) - 1

    def text_ids(self) -> np.ndarray:
        return np.array([t for p in self.pieces for t in p], dtype=np.int64)

    def length(self, tokens_per_video: int) -> int:
        return sum(len(p) for p in self.pieces) + self.num_videos * tokens_per_video


def layout(tokenizer, user: str, system: str = SYSTEM) -> PromptLayout:
    """Splits the chat text on `<video>` and tokenizes each piece (a `tokenizers.Tokenizer`)."""
    parts = chat_text(user, system).split(VIDEO)
    ids = [tuple(tokenizer.encode(p, add_special_tokens=False).ids) for p in parts]
    return PromptLayout(pieces=tuple(ids))


def interleave(
    text_embeds: np.ndarray, layout_: PromptLayout, video_embeds: list[np.ndarray]
) -> np.ndarray:
    """[S_text, D] text embeddings + per-video [K, D] -> [S, D] in prompt order."""
    if len(video_embeds) != layout_.num_videos:
        raise ValueError(
            f"the prompt has {layout_.num_videos} <video> placeholders "
            f"but {len(video_embeds)} videos were given"
        )
    out, at = [], 0
    for i, piece in enumerate(layout_.pieces):
        out.append(text_embeds[at : at + len(piece)])
        at += len(piece)
        if i < len(video_embeds):
            out.append(video_embeds[i])
    return np.concatenate(out, axis=0)
