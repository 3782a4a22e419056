// evals page: being built.
