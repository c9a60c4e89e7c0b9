"""The async face of the system: the bridge between threads and the loop, the job queue, the event bus."""
