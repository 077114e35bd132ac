// /docs: Swagger UI over the app's own OpenAPI document. Everything comes from this server
// (static/vendor, /openapi.json): no validator badge (validatorUrl null), no CDN, no inline
// script, so the page works offline and under a strict Content-Security-Policy.

const root = document.getElementById("swagger-ui");

window.ui = window.SwaggerUIBundle({
  domNode: root,
  url: root.dataset.openapiUrl,
  deepLinking: true, // #/posts/get_api_posts links to an operation
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  tryItOutEnabled: false, // "Try it out" on demand; Authorize takes the bearer token
  persistAuthorization: false,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0, // the schemas section starts folded
  docExpansion: "list",
  filter: false,
});
