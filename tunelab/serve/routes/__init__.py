"""HTTP routes, one module per area; each is thin: parse, call the service on `app.state`, shape
the answer. `ROUTERS` is what `create_app` mounts."""

from tunelab.serve.routes import (
    adapters,
    chat,
    completions,
    control,
    datasets,
    embeddings,
    health,
    jobs,
    metrics,
    models,
    recipes,
    tasks,
)

ROUTERS = [health.router, metrics.router, models.router, chat.router, completions.router, embeddings.router,
           adapters.router, tasks.router, jobs.router, control.router, datasets.router, recipes.router]

__all__ = ["ROUTERS"]
