"""HTTP routes, one module per area; each is thin: parse, call the service on `app.state`, shape
the answer. `ROUTERS` is what `create_app` mounts."""

from tunelab.serve.routes import (
    adapters,
    chat,
    collections,
    completions,
    control,
    datasets,
    embeddings,
    feedback,
    health,
    jobs,
    lineage,
    metrics,
    models,
    recipes,
    settings,
    tasks,
    traces,
)

ROUTERS = [health.router, metrics.router, models.router, chat.router, completions.router, embeddings.router,
           adapters.router, tasks.router, jobs.router, control.router, feedback.router, settings.router,
           lineage.router, collections.router, datasets.router, recipes.router, traces.router]

__all__ = ["ROUTERS"]
