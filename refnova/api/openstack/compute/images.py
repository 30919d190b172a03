"""The image-proxy API: ``GET /images``, ``/images/detail`` and ``/images/{id}`` (Nova's
``ImagesController``), the images of the image service as the caller sees them."""

from __future__ import annotations

import webob

from refnova import exception, tracing
from refnova.api.openstack import common, contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import around, errors, resource_versions
from refnova.api.openstack.compute.image_views import ImageViews
from refnova.exception import ApiError
from refnova.image.listing import ImageList

# Nova's SUPPORTED_FILTERS: query parameter -> the image service's filter.
SUPPORTED_FILTERS = {
    "name": "name",
    "status": "status",
    "changes-since": "changes-since",
    "server": "property-instance_uuid",
    "type": "property-image_type",
    "minRam": "min_ram",
    "minDisk": "min_disk",
}
# Where Glance is when the deployment serves it itself (refnova serve's /image).
BUILT_IN_GLANCE = "/image"
# The proxy APIs are gone from 2.36 on (Nova's MAX_PROXY_API_SUPPORT_VERSION is 2.35): a
# bare 404, as for a method no version serves.
REMOVED_AT = "2.36"


def _served(req: webob.Request) -> None:
    if resource_versions.reaches(req, REMOVED_AT):
        raise ApiError(404)


class Controller:
    def __init__(self, images: ImageList, glance_url: str | None = None) -> None:
        self.images = images
        self.glance_url = glance_url

    @tracing.traced("images.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        _served(req)
        return self._listing(req, detail=False)

    @tracing.traced("images.Controller.detail")
    def detail(self, req: webob.Request) -> Answer:
        _served(req)
        return self._listing(req, detail=True)

    @tracing.traced("images.Controller.show")
    def show(self, req: webob.Request, image_id: str) -> Answer:
        _served(req)
        context = req.environ["nova.context"]
        try:
            image = self.images.show(context, image_id)
        except exception.ImageNotFound:
            raise around.not_found(contracts.contract_of(req).around, "image")
        except exception.NovaException as error:
            raise errors.to_api_error(error)
        return 200, {"image": self._views(req).show(image)}, {}

    def _listing(self, req: webob.Request, detail: bool) -> Answer:
        context = req.environ["nova.context"]
        around_create = contracts.contract_of(req).around
        limit, marker = common.limit_and_marker(req, around_create.paging, around_create.max_limit)
        filters = {
            service_name: req.GET[name]
            for name, service_name in SUPPORTED_FILTERS.items()
            if name in req.GET
        }
        try:
            images = self.images.detail(context, filters, limit, marker)
        except exception.MarkerNotFound:
            raise ApiError(400, "marker [%s] not found" % marker)
        except exception.Invalid as error:
            raise ApiError(400, error.format_message())
        except exception.NovaException as error:  # a real Glance refusing or failing
            raise errors.to_api_error(error)
        return 200, self._views(req).listing(images, detail), {}

    def _views(self, req: webob.Request) -> ImageViews:
        context = req.environ["nova.context"]
        glance = (self.glance_url or req.host_url + BUILT_IN_GLANCE).rstrip("/")
        if contracts.contract_of(req).around.image_alternate_has_project:
            glance += "/" + context.project_id
        return ImageViews(req, context.project_id, glance)
