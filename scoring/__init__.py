"""The scoring domain: model versions, the engine, decisions, reviews and batch jobs."""
