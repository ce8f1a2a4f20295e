"""Files in and out over HTTP: the one formula-safe CSV writer and the upload limits checked before a body is read."""
