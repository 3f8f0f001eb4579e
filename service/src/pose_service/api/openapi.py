"""The OpenAPI 3.1 document of the API, served at ``/openapi.json``.

Written out by hand, next to the code that implements it, so that it states the backend's
contract (``docs/contract.md``) precisely; the contract tests check the service against it.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..estimators.base import MODEL_ROLES
from ..skeleton import JOINT_ANGLE_TRIPLETS, SMPL_JOINT_NAMES
from ..tracking.track import SMOOTHING_MODES
from .requests import MAX_FRAME_NUMBER

_NUM = {"type": "number"}
_VEC3 = {"type": "array", "items": _NUM, "minItems": 3, "maxItems": 3}

ERROR = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, for people"},
        "code": {"type": "string", "description": "machine-readable error code"},
        "status": {"type": "string", "description": "service status, on 503 answers"},
    },
}

KEYPOINT = {
    "type": "object",
    "required": ["name", "x", "y", "z", "x_3d", "y_3d", "z_3d", "confidence"],
    "properties": {
        "name": {"type": "string", "enum": list(SMPL_JOINT_NAMES)},
        "x": {**_NUM, "description": "image pixels"},
        "y": {**_NUM, "description": "image pixels"},
        "z": {**_NUM, "description": "depth from the camera, metres"},
        "x_3d": {**_NUM, "description": "metres, camera-aligned body frame"},
        "y_3d": _NUM,
        "z_3d": _NUM,
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
}

TEMPORAL = {
    "type": "object",
    "description": "Where the pose comes from (addition; old clients ignore it).",
    "properties": {
        "source": {"enum": ["detected", "predicted", "interpolated", None]},
        "frames_since_detection": {"type": ["integer", "null"]},
        "track_id": {"type": ["integer", "null"]},
        "session_id": {"type": "string"},
        "session_rule": {"type": "string"},
        "flags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "e.g. track_started, outlier_rejected, reacquired, late_frame, "
            "rescued (found by looking again where the track predicted the person), "
            "rescue_rejected, back_filled, forward_filled",
        },
        "scores": {"type": "object", "additionalProperties": _NUM},
    },
}

FRAME = {
    "type": "object",
    "required": [
        "frame_number", "frame_width", "frame_height", "has_3d", "keypoints", "keypoint_count",
        "joints_3d_raw", "joint_angles_3d", "camera_translation", "camera_params",
        "scaled_focal_length",
        "mesh_vertices", "mesh_vertices_data", "mesh_faces_data", "processing_time_ms",
        "model_version", "tracking_confidence",
    ],
    "properties": {
        "frame_number": {"type": "integer"},
        "frame_width": {"type": "integer"},
        "frame_height": {"type": "integer"},
        "has_3d": {"type": "boolean"},
        "keypoints": {"type": "array", "items": KEYPOINT, "maxItems": len(SMPL_JOINT_NAMES)},
        "keypoint_count": {"type": "integer"},
        "joints_3d_raw": {"type": ["array", "null"], "items": _VEC3},
        "joint_angles_3d": {
            "type": "object",
            "properties": {name: _NUM for name in JOINT_ANGLE_TRIPLETS},
            "description": "degrees, measured at the named joint",
        },
        "camera_translation": {"type": ["array", "null"], "items": _NUM},
        "camera_params": {
            "type": ["object", "null"],
            "required": ["scale", "tx", "ty", "type"],
            "properties": {
                "scale": {**_NUM, "exclusiveMinimum": 0},
                "tx": _NUM,
                "ty": _NUM,
                "type": {"const": "weak_perspective"},
            },
            "description": "the weak-perspective camera of camera_translation [tx, ty, tz]: "
            "scale = 2 * scaled_focal_length / (max(W, H) * tz), tx, ty as they are; a point X "
            "lands at scale * (X + t) in image coordinates normalised to [-1, 1] across the "
            "longer side (HMR2's pred_cam convention, the whole image as the box); null "
            "without a pose",
        },
        "scaled_focal_length": _NUM,
        "mesh_vertices": {"type": "integer"},
        "mesh_vertices_data": {
            "type": ["array", "string", "null"],
            "items": _VEC3,
            "description": "an array (mesh_format full), base64 float32 (base64) or null",
        },
        "mesh_vertices_encoding": {
            "const": "base64-float32-le",
            "description": "present only with mesh_format base64",
        },
        "mesh_faces_data": {
            "type": ["array", "null"],
            "items": {"type": "array", "items": {"type": "integer"}},
        },
        "processing_time_ms": _NUM,
        "model_version": {"type": "string"},
        "tracking_confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "session_id": {"type": "string"},
        "temporal": TEMPORAL,
        "visualization": {"type": "string", "description": "data:image/png;base64,..."},
        "error": {"type": "string", "description": "why has_3d is false"},
        "error_code": {"type": ["string", "null"]},
    },
}  # fmt: skip

HYBRID_REQUEST = {
    "type": "object",
    "required": ["image_base64"],
    "properties": {
        "image_base64": {
            "type": "string",
            "description": "base64 PNG or JPEG; a data:image/...;base64, prefix is accepted",
        },
        "frame_number": {"type": "integer", "minimum": 0, "maximum": MAX_FRAME_NUMBER},
        "visualize": {"type": "boolean"},
        "video_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9._:-]{1,128}$",
            "description": "optional; also accepted as the X-Video-Id header",
        },
        "mesh_format": {
            "enum": ["full", "none", "base64"],
            "default": "full",
            "description": (
                "full (default, the contract): mesh_vertices_data and mesh_faces_data as JSON "
                "arrays; none: no mesh data (mesh_vertices still counts the vertices); base64: "
                "mesh_vertices_data is base64 of little-endian float32 x,y,z per vertex "
                "(mesh_vertices_encoding: base64-float32-le) and mesh_faces_data is null "
                "(the faces never change: fetch them once with full)"
            ),
        },
    },
}

VIDEO_FRAMES = {
    "type": "object",
    "required": ["frames"],
    "properties": {
        "session_id": {"type": "string"},
        "frame_count": {"type": "integer"},
        "truncated": {"type": "boolean"},
        "frames": {"type": "array", "items": {"type": "object"}},
    },
}

JOB = {
    "type": "object",
    "required": ["job_id", "status"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string"},
        "result": {"type": ["object", "null"]},
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "ready", "models", "service", "timestamp"],
    "properties": {
        "status": {"enum": ["ready", "warming_up", "not_ready"]},
        "ready": {"type": "boolean"},
        "models": {
            "type": "object",
            "additionalProperties": {"enum": ["loaded", "not_loaded"]},
            "required": list(MODEL_ROLES),
            "description": "hmr2 and vitdet are roles: the 3D body model and the person "
            "detector, loaded when the model filling the role (model_roles) is; then every "
            "model by its own name (e.g. mediapipe_pose)",
        },
        "model_roles": {
            "type": "object",
            "required": list(MODEL_ROLES),
            "additionalProperties": {"type": "string"},
            "description": "which model fills each role, e.g. {hmr2: hmr2, vitdet: "
            "mediapipe_pose} for hmr2 on a CPU host, both mediapipe_pose for lite",
        },
        "service": {"type": "string"},
        "timestamp": {"type": "string"},
        "tracker": {
            "type": "object",
            "properties": {
                "max_gap_frames": {"type": "integer"},
                "smoothing": {"enum": list(SMOOTHING_MODES)},
                "detect_every_frames": {"type": "integer", "minimum": 1},
                "whole_video_trackers": {
                    "type": "array",
                    "items": {"enum": ["service", "phalp"]},
                    "description": "what POST /pose/video accepts as tracker on this host",
                },
            },
        },
        "persistence": {
            "type": "object",
            "description": "whether live sessions are being saved for a restart",
            "properties": {
                "enabled": {"type": "boolean"},
                "ok": {"type": "boolean"},
                "error": {"type": ["string", "null"]},
                "path": {"type": "string"},
                "moved_aside": {"type": "string"},
                "last_saved_at": {"type": "number"},
            },
        },
        "rescue": {
            "type": "object",
            "description": "looking again where a track predicts its person (POSE_SERVICE_RESCUE)",
            "properties": {
                "enabled": {"type": "boolean"},
                **{
                    k: {"type": "integer", "minimum": 0}
                    for k in ("looked_again", "looked_first", "reframed", "rescued", "failed")
                },
            },
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    """The document (a fresh dict each call: callers may not mutate a shared one)."""
    err = {"$ref": "#/components/schemas/Error"}
    busy = {
        **_json(err, "warming up, queue full, shutting down, or a retryable inference error"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pose-service",
            "version": __version__,
            "description": "3D human pose per video frame, with temporal tracking that predicts "
            "poses for frames where detection fails.",
        },
        "paths": {
            "/pose/hybrid": {
                "post": {
                    "operationId": "poseHybrid",
                    "summary": "Pose of the main subject in one frame",
                    "parameters": [{
                        "name": "X-Video-Id", "in": "header", "required": False,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                    }],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/HybridRequest"}
                        }},
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Frame"}, "the frame's pose"),
                        "400": _json(err, "malformed request or image"),
                        "401": _json(err, "token required"),
                        "413": _json(err, "body or image too large"),
                        "415": _json(err, "not JSON"),
                        "500": _json(err, "internal fault"),
                        "503": busy,
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Readiness and model status",
                    "responses": {"200": _json({"$ref": "#/components/schemas/Health"}, "status")},
                }
            },
            "/sessions/{session_id}": {
                "get": {
                    "operationId": "sessionFrames",
                    "summary": "Every frame of a streamed video so far, gaps filled and smoothed",
                    "parameters": [{"name": "session_id", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/VideoFrames"},
                                     "whole-video result"),
                        "404": _json(err, "no live session with that id"),
                    },
                }
            },
            "/pose/video": {
                "post": {
                    "operationId": "poseVideo",
                    "summary": "Start a whole-video job (a video upload or a list of frames)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {
                                "type": "object", "required": ["frames"],
                                "properties": {"frames": {
                                    "type": "array", "minItems": 1,
                                    "items": {"type": "string",
                                              "description": "base64 PNG or JPEG"},
                                }},
                            }},
                            "multipart/form-data": {"schema": {
                                "type": "object", "required": ["video"],
                                "properties": {
                                    "video": {"type": "string", "format": "binary"},
                                    "tracker": {
                                        "type": "string", "enum": ["service", "phalp"],
                                        "default": "service",
                                        "description": "phalp: PHALP's offline tracker (GPU "
                                                       "host with 4D-Humans and PHALP), its "
                                                       "ghost frames filled by the service",
                                    },
                                },
                            }},
                        },
                    },
                    "responses": {
                        "202": _json({"$ref": "#/components/schemas/Job"}, "job accepted"),
                        "400": _json(err, "no frames, a frame or video that cannot be read, or "
                                          "tracker=phalp where PHALP cannot run"),
                        "413": _json(err, "body or image too large"),
                        "503": busy,
                    },
                }
            },
            "/jobs/{job_id}": {
                "get": {
                    "operationId": "jobStatus",
                    "summary": "Progress of a whole-video job, and its frames when done",
                    "parameters": [{"name": "job_id", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Job"}, "job state"),
                        "404": _json(err, "no such job"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI document")},
                }
            },
        },
        "components": {
            "schemas": {
                "HybridRequest": HYBRID_REQUEST,
                "Frame": FRAME,
                "Health": HEALTH,
                "Error": ERROR,
                "VideoFrames": VIDEO_FRAMES,
                "Job": JOB,
            }
        },
    }  # fmt: skip
