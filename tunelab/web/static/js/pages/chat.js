// chat page: being built.
