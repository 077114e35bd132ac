"""SAQ jobs: the queue, the job functions, and the worker that runs them."""
