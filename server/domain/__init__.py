"""Domain rules of the service commitment as plain functions: no Flask, no database."""
