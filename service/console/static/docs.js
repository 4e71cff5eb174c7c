// Starts Swagger UI on the service's own OpenAPI document (no inline script: the
// page's Content-Security-Policy runs only the service's files).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
