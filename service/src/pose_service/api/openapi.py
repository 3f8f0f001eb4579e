"""The OpenAPI 3.1 document of the API, served at ``/openapi.json``.

Written out by hand, next to the code that implements it, so that it states the backend's
contract (``docs/contract.md``) precisely; the contract tests check the service against it.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..estimators.base import MODEL_ROLES
from ..skeleton import JOINT_ANGLE_TRIPLETS, SMPL_JOINT_NAMES
from ..tracking.config import SMOOTHING_MODES
from .legacy import INLINE_IMAGES
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
        "visualization": {"type": "string", "description": "data:image/png;base64,... of the "
                          "frame with its pose's mesh drawn (POSE_SERVICE_OVERLAY=mesh, a pose "
                          "with one), else its skeleton, and a label (source, confidence)"},
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
        "uploads": {
            "type": "object",
            "description": "the inputs of queued and running whole-video jobs, kept in the "
            "state directory until their job ends (POSE_SERVICE_UPLOAD_MAX_BYTES)",
            "properties": {
                "path": {"type": "string"},
                "used_bytes": {"type": "integer", "minimum": 0},
                "max_bytes": {"type": "integer", "minimum": 1},
                "files": {"type": "integer", "minimum": 0},
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

_ROLE = {
    "type": "object",
    "required": ["status", "model"],
    "properties": {
        "status": {"enum": ["loaded", "not_loaded"]},
        "model": {"type": "string", "description": "the model filling the role"},
        "load_time_seconds": {"type": ["number", "null"]},
        "error": {"type": "string"},
    },
}

WARMUP = {
    "type": "object",
    "required": ["status", "message", *MODEL_ROLES],
    "properties": {
        "status": {
            "enum": ["ready", "error"],
            "description": "the old service's word (it also had partial: never here, "
            "the service serves only with every model it needs)",
        },
        "message": {"type": "string"},
        **{role: _ROLE for role in MODEL_ROLES},
        "error": {"type": "string"},
        "code": {"type": "string", "description": "warming_up or model_unavailable"},
    },
}

RELOAD_REFUSED = {
    "type": "object",
    "required": ["status", "error", "code"],
    "properties": {
        "status": {"const": "error"},
        "error": {"type": "string", "description": "why nothing is reloaded, what to do"},
        "code": {"const": "reload_unsupported"},
        "models": {"type": "object"},
        "model_roles": {"type": "object"},
    },
}

_LEGACY_FRAME = {
    "type": "object",
    "required": ["frameNumber", "frame_number", "timestamp", "vertices", "faces", "has_3d",
                 "keypoints", "image_url"],
    "description": "a /pose/hybrid frame (Frame) with the old names added",
    "properties": {
        "frameNumber": {"type": "integer"},
        "frame_number": {"type": "integer"},
        "timestamp": {**_NUM, "description": "seconds: frame_number / fps"},
        "image_base64": {"type": "string", "description": "the drawn frame (a detected "
                         "frame's mesh, else the skeleton; docs/rendering.md), base64 of the "
                         f"JPEG (no data: prefix); /process_video's first {INLINE_IMAGES} frames"},
        "image_url": {"type": "string", "description": "/frame/<job_id>/<index>"},
        "vertices": {"type": "null", "description": "whole-video frames keep no mesh"},
        "faces": {"type": "null"},
        "has_3d": {"type": "boolean"},
        "keypoints": {"type": "array"},
    },
}  # fmt: skip

RENDERED_VIDEO = {
    "type": "object",
    "required": ["status", "job_id", "output_path", "video_path", "output_dir", "total_frames",
                 "processed_frames", "frame_count", "fps", "resolution", "video_duration",
                 "processing_time_seconds", "output_size_mb", "frame_acceptance",
                 "pose_timeline", "frames"],
    "properties": {
        "status": {"const": "success"},
        "job_id": {"type": "string"},
        "output_path": {"type": "string", "description": "the overlay video (MPEG-4)"},
        "video_path": {"type": "string", "description": "the same"},
        "output_dir": {"type": "string", "description": "the overlay and frames/NNNNNN.jpg"},
        "total_frames": {"type": "integer", "description": "the upload's frames"},
        "processed_frames": {"type": "integer",
                             "description": "the first max_frames of them (at most "
                                            "POSE_SERVICE_LEGACY_MAX_FRAMES), each answered"},
        "frame_count": {"type": "integer"},
        "fps": _NUM,
        "resolution": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                       "maxItems": 2, "description": "[width, height]"},
        "video_duration": {**_NUM, "description": "seconds: total_frames / fps"},
        "processing_time_seconds": _NUM,
        "output_size_mb": {**_NUM, "description": "the overlay video's size, MiB"},
        "frame_acceptance": {"type": "array", "items": {"type": "object", "properties": {
            "frame_number": {"type": "integer"}, "accepted": {"type": "boolean"},
            "source": TEMPORAL["properties"]["source"]}}},
        "pose_timeline": {"type": "array", "items": {"type": "object", "properties": {
            "frame_number": {"type": "integer"}, "timestamp": _NUM,
            "has_3d": {"type": "boolean"}, "source": TEMPORAL["properties"]["source"],
            "tracking_confidence": _NUM, "joint_angles_3d": {"type": "object"}}}},
        "frames": {"type": "array", "items": _LEGACY_FRAME},
    },
}  # fmt: skip

LEGACY_JOB = {
    "type": "object",
    "required": ["job_id", "status"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"enum": ["queued", "processing", "complete", "error"]},
        "elapsed_time": {**_NUM, "description": "seconds, while queued or processing"},
        "result": {"type": "object", "description": "when complete: RenderedVideo for a job "
                   "of /process_video_async, the Job result for one of /pose/video"},
        "output_path": {"type": ["string", "null"]},
        "processing_time": _NUM,
        "error": {"type": "string"},
        "frames_done": {"type": "integer"},
        "frames_total": {"type": ["integer", "null"]},
    },
}  # fmt: skip

LEGACY_UPLOAD = {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["video"],
        "properties": {
            "video": {"type": "string", "format": "binary"},
            "max_frames": {"type": "string", "pattern": "^[0-9]{1,9}$",
                           "description": "how many frames to process: the first ones, at "
                                          "most POSE_SERVICE_LEGACY_MAX_FRAMES (default: that)"},
            "output_format": {"enum": ["file_path"], "default": "file_path"},
        },
    }},
}  # fmt: skip


LIVEZ = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"const": "alive"}},
}
READINESS = {
    "type": "object",
    "required": ["ready", "status"],
    "properties": {
        "ready": {"type": "boolean"},
        "status": {
            "type": "string",
            "enum": ["ready", "warming_up", "not_ready", "draining"],
            "description": "the model's status (/health's), or draining once shutting down",
        },
        "reason": {"type": "string", "description": "why not ready (absent when ready)"},
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
            "/livez": {
                "get": {
                    "operationId": "livez",
                    "summary": "Liveness probe: 200 whenever the process answers",
                    "responses": {"200": _json(LIVEZ, "the process answers")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "Readiness probe: 200 once the model is loaded and warmed up, "
                               "503 with the reason before that and while shutting down",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Readiness"}, "ready"),
                        "503": _json({"$ref": "#/components/schemas/Readiness"},
                                     "warming up, the load failed, or shutting down"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (text exposition format; OpenMetrics on "
                               "request)",
                    "responses": {"200": {
                        "description": "the service's metrics",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/openmetrics-text": {"schema": {"type": "string"}},
                        },
                    }},
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
            "/warmup": {
                method: {
                    "operationId": f"warmup{method.title()}",
                    "summary": "Answers once the model is loaded (the old service's warm-up)",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Warmup"}, "ready"),
                        "500": _json({"$ref": "#/components/schemas/Warmup"},
                                     "the load failed, or is still going after "
                                     "POSE_SERVICE_WARMUP_TIMEOUT_S (then Retry-After)"),
                    },
                }
                for method in ("get", "post")
            },
            "/reload": {
                "post": {
                    "operationId": "reload",
                    "summary": "Refused: a running service reloads no model (restart it)",
                    "responses": {
                        "409": _json({"$ref": "#/components/schemas/ReloadRefused"}, "why"),
                    },
                }
            },
            "/process_video": {
                "post": {
                    "operationId": "processVideo",
                    "summary": "A video tracked and drawn while the request waits",
                    "requestBody": {"required": True, "content": LEGACY_UPLOAD},
                    "responses": {
                        "200": _json({"type": "object", "required": ["status", "data"],
                                      "properties": {
                                          "status": {"const": "success"},
                                          "data": {"$ref": "#/components/schemas/RenderedVideo"},
                                      }}, "every processed frame"),
                        "400": _json(err, "no video part, a bad max_frames or output_format, "
                                          "or a file that is not a video"),
                        "413": _json(err, "body or video too large"),
                        "500": _json(err, "the processing failed"),
                        "503": {**busy, "description": "warming up, too many jobs, or "
                                "still_processing after POSE_SERVICE_PROCESS_VIDEO_TIMEOUT_S "
                                "(the job goes on: job_id for /job_status)"},
                    },
                }
            },
            "/process_video_async": {
                "post": {
                    "operationId": "processVideoAsync",
                    "summary": "The same as a job: its id for /job_status",
                    "requestBody": {"required": True, "content": LEGACY_UPLOAD},
                    "responses": {
                        "200": _json({"type": "object",
                                      "required": ["status", "job_id", "message"],
                                      "properties": {
                                          "status": {"const": "accepted"},
                                          "job_id": {"type": "string",
                                                     "pattern": "^[A-Za-z0-9-]+$"},
                                          "message": {"type": "string"},
                                      }}, "job accepted"),
                        "400": _json(err, "no video part, a bad max_frames or output_format, "
                                          "or a file that is not a video"),
                        "413": _json(err, "body or video too large"),
                        "503": busy,
                    },
                }
            },
            "/job_status/{job_id}": {
                "get": {
                    "operationId": "legacyJobStatus",
                    "summary": "A job's state in the old service's words",
                    "parameters": [{"name": "job_id", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/LegacyJob"}, "job state"),
                        "404": _json(err, "no such job"),
                    },
                }
            },
            "/frame/{job_id}/{index}": {
                "get": {
                    "operationId": "renderedFrame",
                    "summary": "A complete job's frame with its pose drawn",
                    "parameters": [
                        {"name": "job_id", "in": "path", "required": True,
                         "schema": {"type": "string"}},
                        {"name": "index", "in": "path", "required": True,
                         "schema": {"type": "integer", "minimum": 0}},
                    ],
                    "responses": {
                        "200": {"description": "JPEG, quality 90",
                                "headers": {"Cache-Control": {"schema": {"type": "string"}}},
                                "content": {"image/jpeg": {"schema": {"type": "string",
                                                                      "format": "binary"}}}},
                        "400": _json(err, "the job is not complete, or index out of range"),
                        "404": _json(err, "no such job, or it has no rendered frames"),
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
                "Readiness": READINESS,
                "Error": ERROR,
                "VideoFrames": VIDEO_FRAMES,
                "Job": JOB,
                "Warmup": WARMUP,
                "ReloadRefused": RELOAD_REFUSED,
                "RenderedVideo": RENDERED_VIDEO,
                "LegacyJob": LEGACY_JOB,
            }
        },
    }  # fmt: skip
