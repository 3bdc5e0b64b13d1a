"""Handing a model to the systems that use it: a REST API (api.py) and exported files (export.py).

    python -m emotion_core serve --port 8000                   # api.create_app behind uvicorn
    python -m emotion_core export deployed --format litert --out exports/

Nothing is imported here, so `export` works without FastAPI and `serve` without onnx.
"""
