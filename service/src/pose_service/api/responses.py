"""Building the ``/pose/hybrid`` answer from a pose and its facts (a streamed frame's outcome, or a
whole video's frame), exactly as the contract says.

Arrays stay numpy until orjson writes them; the constant mesh faces are encoded once
(``FacesCache``) and spliced in as a pre-encoded fragment. ``mesh_format`` lets a client ask
for a lighter answer; the default (``full``) is the contract's answer, unchanged.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import orjson

from ..camera import answer_focal, weak_perspective
from ..drawing import draw_tracked
from ..imaging import encode_png_base64
from ..mesh_render import MeshRenderer
from ..skeleton import SMPL_JOINT_NAMES, joint_angles_deg
from ..streaming.outcome import FrameOutcome
from ..types import TrackedPose
from ..whole_video.outcomes import WholeVideo

MeshFormat = Literal["full", "none", "base64"]
MESH_FORMATS: tuple[str, ...] = ("full", "none", "base64")
# How ``mesh_format: base64`` encodes ``mesh_vertices_data`` (said in the answer too).
VERTICES_BASE64_ENCODING = "base64-float32-le"


class FacesCache:
    """The estimator's constant triangles, JSON-encoded once per process, and the mesh
    renderer of ``visualize`` built on them once."""

    def __init__(self, faces: np.ndarray | None) -> None:
        self.fragment = (
            None
            if faces is None
            else orjson.Fragment(orjson.dumps(faces, option=orjson.OPT_SERIALIZE_NUMPY))
        )
        self.renderer = None if faces is None else MeshRenderer(faces)


NO_FACES = FacesCache(None)  # no mesh faces in an answer (whole videos' frames)


def keypoint_rows(
    joints_3d: np.ndarray, keypoints_2d: np.ndarray, depth: np.ndarray, confidence: np.ndarray
) -> list[dict[str, Any]]:
    """The 24 ``{name, x, y, z, x_3d, y_3d, z_3d, confidence}`` rows."""
    j = joints_3d.astype(np.float64).round(5).tolist()
    k = keypoints_2d.astype(np.float64).round(2).tolist()
    z = depth.astype(np.float64).round(5).tolist()
    c = confidence.astype(np.float64).round(4).tolist()
    return [
        {"name": name, "x": k[i][0], "y": k[i][1], "z": z[i],
         "x_3d": j[i][0], "y_3d": j[i][1], "z_3d": j[i][2], "confidence": c[i]}
        for i, name in enumerate(SMPL_JOINT_NAMES)
    ]  # fmt: skip


def vertices_base64(vertices: np.ndarray) -> str:
    """(V, 3) vertices as base64 of little-endian float32, row-major (12 bytes a vertex)."""
    return base64.b64encode(np.ascontiguousarray(vertices, dtype="<f4").tobytes()).decode("ascii")


def camera_params(
    translation: np.ndarray | None, focal: float, width: int, height: int
) -> dict[str, Any] | None:
    """``{scale, tx, ty, type: weak_perspective}`` of the camera translation
    (``camera.weak_perspective``), or None without one."""
    camera = None if translation is None else weak_perspective(translation, focal, width, height)
    if camera is None:
        return None
    scale, tx, ty = camera
    return {"scale": round(scale, 6), "tx": round(tx, 5), "ty": round(ty, 5),
            "type": "weak_perspective"}  # fmt: skip


@dataclass(frozen=True)
class AnswerFacts:
    """What a frame's answer says besides its pose: the frame (number and size, no pixels) and
    the session, rule and model it was answered under."""

    frame_number: int
    frame_width: int
    frame_height: int
    session_id: str
    session_rule: str
    model_version: str


def build_frame_answer(
    outcome: FrameOutcome,
    faces: FacesCache,
    visualize: bool = False,
    mesh_format: MeshFormat = "full",
    overlay: str = "mesh",
) -> dict[str, Any]:
    """A streamed frame's answer (:func:`build_pose_answer`); ``visualize`` adds the frame
    drawn as ``overlay`` says (``drawing.draw_tracked``)."""
    frame = outcome.frame
    facts = AnswerFacts(
        frame.frame_number, frame.width, frame.height,
        outcome.session_id, outcome.session_rule, outcome.model_version,
    )  # fmt: skip
    answer = build_pose_answer(outcome.tracked, facts, faces, mesh_format)
    if visualize:
        answer["visualization"] = visualization(outcome, faces, overlay)
    return answer


def build_pose_answer(
    tracked: TrackedPose,
    facts: AnswerFacts,
    faces: FacesCache,
    mesh_format: MeshFormat = "full",
) -> dict[str, Any]:
    """The contract's response object (plus the optional ``temporal`` block), from the pose
    and the facts it is answered with: a streamed frame's or a whole video's frame alike.

    ``mesh_format``: ``full`` = vertices and faces as JSON arrays (the contract);
    ``none`` = no mesh data (``mesh_vertices`` still counts them); ``base64`` = vertices as
    base64 float32 (``mesh_vertices_encoding`` says so) and no faces, which never change.
    """
    pose = tracked.pose
    width, height = facts.frame_width, facts.frame_height
    focal = answer_focal(None if pose is None else pose.focal_length, width, height)
    answer: dict[str, Any] = {
        "frame_number": facts.frame_number,
        "frame_width": width,
        "frame_height": height,
        "has_3d": pose is not None,
        "keypoints": [],
        "keypoint_count": 0,
        "joints_3d_raw": None,
        "joint_angles_3d": {},
        "camera_translation": None,
        "camera_params": None,
        "scaled_focal_length": round(float(focal), 3),
        "mesh_vertices": 0,
        "mesh_vertices_data": None,
        "mesh_faces_data": None,
        "processing_time_ms": 0.0,  # set by the caller, who holds the clock
        "model_version": facts.model_version,
        "tracking_confidence": tracked.tracking_confidence,
        "session_id": facts.session_id,
        "temporal": {
            "source": tracked.source,
            "frames_since_detection": tracked.frames_since_detection,
            "track_id": tracked.track_id,
            "session_id": facts.session_id,
            "session_rule": facts.session_rule,
            "flags": tracked.flags,
            **({"scores": tracked.scores} if tracked.scores else {}),
        },
    }
    if pose is None:
        answer["error"] = tracked.error or "no pose"
        answer["error_code"] = tracked.reason
        return answer
    keypoints = keypoint_rows(
        pose.joints_3d, pose.keypoints_2d, pose.depth(), pose.joint_confidence
    )
    answer.update(
        keypoints=keypoints,
        keypoint_count=len(keypoints),
        joints_3d_raw=pose.joints_3d,
        joint_angles_3d=joint_angles_deg(pose.joints_3d),
        camera_translation=pose.camera_translation,
        camera_params=camera_params(pose.camera_translation, focal, width, height),
    )
    if pose.vertices is not None:
        answer["mesh_vertices"] = int(pose.vertices.shape[0])
        if mesh_format == "full":
            # orjson writes only C-contiguous arrays natively; estimators' are already.
            answer["mesh_vertices_data"] = np.ascontiguousarray(pose.vertices)
            answer["mesh_faces_data"] = faces.fragment
        elif mesh_format == "base64":
            answer["mesh_vertices_data"] = vertices_base64(pose.vertices)
            answer["mesh_vertices_encoding"] = VERTICES_BASE64_ENCODING
    return answer


def video_frame_answers(video: WholeVideo) -> list[dict[str, Any]]:
    """Every frame of a whole video as a ``/pose/hybrid`` answer (mesh faces never: a whole
    video's frames are answered without them)."""
    width, height = video.frame_size
    shared = (video.session_id, video.session_rule, video.model_version)
    return [
        build_pose_answer(
            frame.tracked, AnswerFacts(frame.frame_number, width, height, *shared), NO_FACES
        )
        for frame in video.frames
    ]


def visualization(outcome: FrameOutcome, faces: FacesCache, overlay: str) -> str:
    """The frame with its answer drawn (``drawing.draw_tracked``), as a PNG data URL."""
    drawn = draw_tracked(outcome.frame.rgb, outcome.tracked, faces.renderer, overlay, rgb=True)
    return encode_png_base64(drawn)
