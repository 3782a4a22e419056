"""The recipe forms and their validation (on `app.state.recipes`): the forms come from the recipe
configs themselves (`tunelab.train.recipe_forms`), with the names this server knows as suggestions;
validation is the one a YAML file gets, plus warnings for names this server cannot find. Blocking
(the store): routes call it in a worker thread."""

from __future__ import annotations

from pathlib import Path

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.formats import FORMATS
from tunelab.data.registry import DatasetRegistry
from tunelab.models.catalogue import Catalogue
from tunelab.serve import recipes_protocol as p
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train.recipe_forms import check_recipe, recipe_forms, recipe_yaml


class RecipesService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.datasets = DatasetRegistry(store, settings)
        self.adapters = AdapterRegistry(store, settings)
        self.catalogue = Catalogue(store)

    def forms(self) -> p.RecipeForms:
        datasets = self.datasets.names()
        return p.RecipeForms(data=[p.RecipeForm(**f) for f in recipe_forms()], suggestions={
            "base_model": self.catalogue.names(), "dataset": datasets, "eval_dataset": datasets,
            "sft_adapter": self.adapters.names(), "dataset_format": list(FORMATS)})

    def validate(self, recipe: dict) -> p.RecipeValidation:
        check = check_recipe(recipe)
        if check.config is None:
            return p.RecipeValidation(valid=False, errors=[p.RecipeProblem(path=e.path, message=e.message)
                                                           for e in check.problems],
                                      warnings=[], recipe=None, yaml=None)
        cfg = check.config
        return p.RecipeValidation(valid=True, errors=[], warnings=self._warnings(cfg),
                                  recipe=cfg.model_dump(mode="json"), yaml=recipe_yaml(cfg))

    def _warnings(self, cfg) -> list[p.RecipeProblem]:
        out = []
        if cfg.dataset_dir is None:  # a LLaMA-Factory folder names its own entries
            known = set(self.datasets.names())
            for name in ("dataset", "eval_dataset"):
                value = getattr(cfg, name)
                if value and value not in known and not Path(value).expanduser().is_file():
                    out.append(p.RecipeProblem(path=name, message=f"'{value}' is neither a registered dataset nor "
                                                                  "a file on this server."))
        if cfg.recipe != "classifier" and cfg.base_model not in self.catalogue.names():
            out.append(p.RecipeProblem(path="base_model", message=f"'{cfg.base_model}' is not in this server's "
                                                                  "model catalogue (tunelab models list)."))
        adapter = getattr(cfg, "sft_adapter", None)
        if adapter and not self.adapters.exists(adapter):
            out.append(p.RecipeProblem(path="sft_adapter", message=f"No adapter '{adapter}' is registered here."))
        if cfg.adapter_name:
            try:
                self.adapters.check_new_name(cfg.adapter_name)
            except ValueError as exc:  # malformed or taken: the job would refuse it before any step
                out.append(p.RecipeProblem(path="adapter_name", message=str(exc)))
        return out
