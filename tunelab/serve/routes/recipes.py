"""GET /v1/recipes (each training recipe's form: JSON schema from its pydantic model, field groups,
and the names this server knows) and POST /v1/recipes/validate {"recipe": {...}} (the problems by
field path, or the normalised recipe and its YAML), so a form follows the rules a YAML file does."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.allowed_paths import RECIPE_PATHS, check_paths
from tunelab.serve.recipes_protocol import RecipeForms, RecipeValidateRequest, RecipeValidation
from tunelab.serve.recipes_service import RecipesService
from tunelab.serve.routes.jobs import call

router = APIRouter(tags=["recipes"])


def _recipes(request: Request) -> RecipesService:
    return request.app.state.recipes


@router.get("/v1/recipes", response_model=RecipeForms)
async def list_recipes(request: Request) -> RecipeForms:
    return await call(_recipes(request).forms)


@router.post("/v1/recipes/validate", response_model=RecipeValidation)
async def validate_recipe(body: RecipeValidateRequest, request: Request) -> RecipeValidation:
    """200 either way: `valid` says whether a train job would take it (`errors` say why not)."""
    recipe = check_paths(body.recipe, RECIPE_PATHS, request.app.state.settings, "recipe")
    return await call(_recipes(request).validate, recipe)
