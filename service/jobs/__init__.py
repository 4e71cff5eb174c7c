"""The re-scoring job: the lock that keeps it single, the learning fit, and the job itself."""
