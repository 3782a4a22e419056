// job page: being built.
