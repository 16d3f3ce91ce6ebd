"""Marshmallow schemas: the JSON the outside world sees and sends."""
