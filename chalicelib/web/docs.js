// The API reference at /docs: Swagger UI (vendored by `make web`) on this API's /openapi.json.
// A separate file because the page's Content-Security-Policy allows no inline script.
window.addEventListener("load", () => {
  if (typeof window.SwaggerUIBundle !== "function") {
    document.getElementById("swagger-ui").textContent =
      "Swagger UI is missing: run `make web` (the document itself is at openapi.json).";
    return;
  }
  window.SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
