"""Background jobs on SAQ: the registry (`@job`, `@cron`), `enqueue`, the queue, and the
operator tools. The job functions are declared next to the services whose work they do;
`microblog.worker` runs them."""

from microblog.jobs.registry import (
    OnOutage,
    QueueUnavailable,
    cron,
    enqueue,
    job,
    job_key,
)

__all__ = ["OnOutage", "QueueUnavailable", "cron", "enqueue", "job", "job_key"]
