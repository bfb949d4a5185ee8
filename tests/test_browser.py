"""The web page in a real browser (headless Chromium): upload a captcha, see the reading and the stages."""

import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
selenium = pytest.importorskip("selenium", reason="selenium is not installed (make test installs it)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no chromium/chromedriver on this machine (make test installs Debian's chromium and chromium-driver "
           "where it runs as root with apt)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory, small_set):
    import uvicorn

    from captchakit import load_model, make_recognizer
    from captchakit.serve import Server

    X, y = small_set
    p = tmp_path_factory.mktemp("m") / "knn"
    make_recognizer("knn").fit(X, y).save(p)
    model = load_model(p)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(Server({"knn": model}).app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", model
    server.should_exit = True
    t.join(5)


def test_upload_shows_reading_and_stages(server_url, tmp_path, small_set):
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from captchakit.data import write_image

    model, X = server_url[1], small_set[0]
    img = tmp_path / "c.png"
    write_image(img, X[0])
    expected = model.predict([X[0]])[0]
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)
    try:
        driver.get(server_url[0] + "/")
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
        driver.find_element(By.ID, "file").send_keys(str(img))
        wait.until(ec.visibility_of_element_located((By.ID, "result")))
        assert driver.find_element(By.ID, "reading").get_attribute("data-text") == expected
        assert len(driver.find_elements(By.CSS_SELECTOR, "#chars span")) == len(expected)
        stages = driver.find_elements(By.CSS_SELECTOR, "#stages img.stage")
        assert len(stages) >= 3
        wait.until(lambda d: all(d.execute_script("return arguments[0].naturalWidth", s) > 0 for s in stages))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#crops img.crop")) == len(expected)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#stages canvas"))  # the pieces drawn as boxes
        assert driver.find_element(By.ID, "error").text == ""
    finally:
        driver.quit()
