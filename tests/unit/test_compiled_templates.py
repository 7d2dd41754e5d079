"""Templates are compiled once per process, shared by every application's environment,
and compiled anew when their source changes."""

import jinja2

from commonsfed.app import _CompiledTemplates


class CountingEnvironment(jinja2.Environment):
    compiled = 0

    def compile(self, *args, **kwargs):
        CountingEnvironment.compiled += 1
        return super().compile(*args, **kwargs)


def environment(folder, cache) -> jinja2.Environment:
    return CountingEnvironment(loader=jinja2.FileSystemLoader(str(folder)), bytecode_cache=cache)


def test_compiled_templates__a_second_environment_takes_the_first_ones_code(tmp_path):
    (tmp_path / "hello.html").write_text("Hello {{ name }}")
    cache, CountingEnvironment.compiled = _CompiledTemplates(), 0
    assert environment(tmp_path, cache).get_template("hello.html").render(name="Ada") == "Hello Ada"
    assert environment(tmp_path, cache).get_template("hello.html").render(name="Bo") == "Hello Bo"
    assert CountingEnvironment.compiled == 1


def test_compiled_templates__an_edited_template_is_compiled_again(tmp_path):
    (tmp_path / "hello.html").write_text("Hello {{ name }}")
    cache, CountingEnvironment.compiled = _CompiledTemplates(), 0
    environment(tmp_path, cache).get_template("hello.html")
    (tmp_path / "hello.html").write_text("Goodbye {{ name }}")
    assert (
        environment(tmp_path, cache).get_template("hello.html").render(name="Ada") == "Goodbye Ada"
    )
    assert CountingEnvironment.compiled == 2
