"""Take the screenshots in docs/img/screens/ from today's code, in headless Chromium.

    python3 docs/make_screenshots.py

Each page is written by the code as it is now, opened in Debian's Chromium
(driven by Selenium, as the browser tests do), brought to the state the docs
describe, and photographed at 1280x800. Needs `bash .ci/setup` first (it
installs chromium, chromium-driver and selenium).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tinygrad_edu.commands.step import three_example
from tinygrad_edu.watch.examples import article_neuron_loss
from tinygrad_edu.web.explorer import explore

SCREENS = Path(__file__).resolve().parent / "img" / "screens"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,800", "--hide-scrollbars"]


def browser():
    os.environ.setdefault("SE_OFFLINE", "true")          # never download a driver
    options = Options()
    for flag in FLAGS:
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or sys.exit("install chromium")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def open_page(driver, path, ready="return document.body.getAttribute('data-ready')"):
    """Open ``path`` and wait until the script ``ready`` returns something true."""
    driver.get(path.as_uri())
    for _ in range(200):
        if driver.execute_script(ready):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{path} never got ready")


def go_to(driver, step):
    driver.find_element(By.ID, "goto").send_keys(step, Keys.ENTER)


def explorer_neuron(driver, folder):
    """The one-neuron example at backward step 5."""
    loss, _ = article_neuron_loss()
    open_page(driver, explore(loss).save(folder / "neuron.html"))
    go_to(driver, "5")


def explorer_three(driver, folder):
    """The "three" example folded by neuron, with one neuron opened."""
    loss = three_example()
    open_page(driver, explore(loss).save(folder / "three.html"))
    go_to(driver, "20")
    driver.find_element(By.CSS_SELECTOR, "#graph g.node[id^='n-box']").click()


def default_training_report(folder):
    """The report page of a full default ``tinygrad-edu train`` (made once)."""
    report = folder / "training.html"
    if not report.exists():
        subprocess.run([sys.executable, "-m", "tinygrad_edu", "train", "--quiet",
                        "--out", str(folder / "model.json"), "--report", str(report)],
                       check=True)
    return report


def open_report(driver, report):
    """The report page, once it shows the worst digits."""
    open_page(driver, report, "return document.querySelector('#worst figure')")


def live_report(driver, folder):
    """The live page at the end of the default training (its report file)."""
    open_report(driver, default_training_report(folder))


def live_pick(driver, folder):
    """The same page, the worst test digit picked, its look-inside panel in view."""
    open_report(driver, default_training_report(folder))
    driver.find_element(By.CSS_SELECTOR, "#worst figure").click()
    driver.execute_script("document.getElementById('inside-panel').scrollIntoView()")


SHOTS = {"explorer-neuron": explorer_neuron, "explorer-three": explorer_three,
         "live-report": live_report, "live-pick": live_pick}


def main():
    SCREENS.mkdir(parents=True, exist_ok=True)
    driver = browser()
    try:
        with tempfile.TemporaryDirectory() as folder:
            for name, arrange in SHOTS.items():
                arrange(driver, Path(folder))
                time.sleep(0.3)
                driver.save_screenshot(str(SCREENS / f"{name}.png"))
                print(f"wrote {SCREENS / name}.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
