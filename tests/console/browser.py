"""A headless Chromium driven by Selenium (Debian chromium + chromium-driver + python3-selenium),
with the small vocabulary the console tests speak: open a page, log in, wait for text, check,
screenshot. Run by /usr/bin/python3 (Debian's, which sees python3-selenium)."""
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

DESKTOP = (1280, 800)
PHONE = (390, 844)


class Report:
    """Counts checks the way tests/control/lib.sh does: "ok" / "FAIL" lines, a summary, exit code."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, desc, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"  ok   {desc}", flush=True)
        else:
            self.failed += 1
            print(f"  FAIL {desc}{': ' + detail if detail else ''}", flush=True)
        return cond


class Browser:
    def __init__(self, base_url, shots_dir, report):
        self.base = base_url.rstrip("/")
        self.shots = shots_dir
        self.report = report
        os.makedirs(shots_dir, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Chromium's own temporary files (its profile, the singleton socket's folder) go to a
        # folder of this test, removed by quit(), not to /tmp.
        self.tmp = tempfile.mkdtemp(prefix="mlvault-chromium-")
        service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"),
                          env=dict(os.environ, TMPDIR=self.tmp))
        self.d = webdriver.Chrome(service=service, options=opts)
        self.d.set_page_load_timeout(30)
        self.viewport(DESKTOP)
        self.d.set_script_timeout(30)

    def quit(self):
        try:
            self.d.quit()
        except WebDriverException:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ navigation and waiting
    def open(self, hash_path=""):
        self.d.get(f"{self.base}/{hash_path}")

    def go(self, hash_path):
        self.d.execute_script("location.hash = arguments[0]", hash_path)

    def wait(self, cond, timeout=20, what="condition"):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(cond)
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def css(self, sel, timeout=20):
        return self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, sel)), timeout, sel)

    def visible(self, sel, timeout=20):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, sel)), timeout, sel)

    def all(self, sel):
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def text_in(self, sel, text, timeout=20):
        return self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, sel), text), timeout,
                         f"{text!r} in {sel}")

    def heading(self, text, timeout=20):
        return self.text_in("main h1", text, timeout)

    def link(self, text, timeout=20):
        return self.wait(EC.element_to_be_clickable((By.LINK_TEXT, text)), timeout, f"link {text!r}")

    def text(self, sel):
        """The text of the first element matching sel, read at once (no stale element while a
        live region re-renders), or "" when there is none."""
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", sel)

    def fill(self, sel, value):
        """Types `value` into the control, and fails the scenario if the control does not then
        hold exactly that (keys lost to a focus change would otherwise show up much later)."""
        el = self.visible(sel)
        el.clear()
        el.send_keys(value)
        # The key events may still be on their way when send_keys returns: wait for them.
        deadline = time.time() + 5
        while (got := el.get_attribute("value")) != value and time.time() < deadline:
            time.sleep(0.05)
        if got != value:
            active = self.d.execute_script(
                "const a = document.activeElement; return a ? a.outerHTML.slice(0, 120) : null;")
            raise AssertionError(f"typed {value!r} into {sel} but it holds {got!r}; focus is on {active}")
        return el

    def set_value(self, el, value):
        """Sets a long value at once (send_keys is slow for key material) and fires input."""
        self.d.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", el, value)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def fetch_status(self, path, method="GET"):
        return self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {method: arguments[1], credentials: 'same-origin'})"
            ".then(r => done(r.status), e => done(String(e)));", path, method)

    # ------------------------------------------------------------ console vocabulary
    def login(self, key_id, private_key):
        self.open("#/login")
        self.visible("#access-key-id")
        self.fill("#access-key-id", key_id)
        self.set_value(self.css("#private-key"), private_key)
        self.css("#login-submit").click()
        self.heading("Overview")

    def logout(self):
        self.css("#logout").click()
        self.visible("#access-key-id")

    def viewport(self, size):
        """Sets the page's viewport to exactly width x height CSS pixels (a phone when narrow)."""
        w, h = size
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})

    def shot(self, name, size=DESKTOP, max_height=2400, full=True):
        """Saves a screenshot of the whole page (up to max_height px), or of the viewport only,
        at the given viewport size."""
        import base64
        self.viewport(size)
        time.sleep(0.3)  # let layout settle after the resize
        height = min(max_height, int(self.js("return document.documentElement.scrollHeight")))
        if not full:
            height = size[1]
            self.d.save_screenshot(os.path.join(self.shots, f"{name}.png"))
            return os.path.join(self.shots, f"{name}.png")
        png = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": max(height, size[1]), "scale": 1}})
        path = os.path.join(self.shots, f"{name}.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(png["data"]))
        if size != DESKTOP:
            self.viewport(DESKTOP)
        return path

    def unlabelled(self):
        """Form controls on the page without an accessible name (a <label>, aria-label(ledby) or text)."""
        return self.js("""
            return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
              .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                           && !c.getAttribute('aria-labelledby') && !(c.tagName === 'BUTTON' && c.textContent.trim()))
              .map(c => c.outerHTML.slice(0, 80));""")

    def tab_to(self, css, max_tabs=60):
        """Presses Tab until the element matching css has the focus; False if it never does."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        target = self.css(css)
        self.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        for _ in range(max_tabs):
            ActionChains(self.d).send_keys(Keys.TAB).perform()
            if self.js("return document.activeElement === arguments[0]", target):
                return True
        return False

    def press_enter(self):
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        ActionChains(self.d).send_keys(Keys.ENTER).perform()

    def no_horizontal_scroll(self):
        """True when the page does not scroll sideways and no control or heading sticks out of the
        viewport (wide tables scroll inside their own frame)."""
        return self.js("""
            return document.documentElement.scrollWidth <= window.innerWidth + 1 &&
              [...document.querySelectorAll('main input, main select, main textarea, main button, main h1, main h2')]
                .every(e => e.getBoundingClientRect().right <= window.innerWidth + 1);""")

    def console_errors(self):
        """Severe browser console messages (CSP violations, script errors)."""
        try:
            return [e["message"] for e in self.d.get_log("browser") if e.get("level") == "SEVERE"]
        except WebDriverException:
            return []
