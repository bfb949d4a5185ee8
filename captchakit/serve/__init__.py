"""``captcha-cli serve``: an HTTP recognition API and a web page (FastAPI + uvicorn).

Nothing here is imported by ``import captchakit``; FastAPI is imported when
an application is built.
"""

from captchakit.serve._app import Server, load_server, model_info, parse_model_args

__all__ = ["Server", "load_server", "model_info", "parse_model_args"]
