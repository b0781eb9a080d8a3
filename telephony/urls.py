from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from telephony import api, views, webhooks

router = SimpleRouter(trailing_slash=True)
router.register("messages", api.MessageViewSet, basename="message")
router.register("calls", api.CallViewSet, basename="call")
router.register("communications", api.CommunicationLogViewSet, basename="communication")
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("errors", api.PlatformErrorViewSet, basename="platform-error")
router.register("senders", api.SenderNumberViewSet, basename="sender")
router.register("opt-outs", api.OptOutViewSet, basename="opt-out")

api_urlpatterns = [
    path("twilio-account/", api.TwilioAccountView.as_view(), name="twilio-account"),
    path("activity/daily/", api.DailyActivityView.as_view(), name="daily-activity"),
    *router.urls,
]

webhook_urlpatterns = [
    path("webhooks/twilio/status/<str:token>/", webhooks.status_callback, name="twilio-status-callback"),
]

portal_urlpatterns = [
    path("communications/", views.communication_log, name="communication-log"),
    path("communications/new/", views.communication_new, name="communication-new"),
    path("communications/<int:communication_id>/", views.communication_detail, name="communication-detail"),
    path("communications/<int:communication_id>/cancel/", views.communication_cancel, name="communication-cancel"),
    path("errors/", views.platform_error_list, name="platform-error-list"),
    path("opt-outs/", views.opt_out_list, name="opt-out-list"),
    path("opt-outs/add/", views.opt_out_add, name="opt-out-add"),
    path("opt-outs/<int:opt_out_id>/remove/", views.opt_out_remove, name="opt-out-remove"),
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_new, name="campaign-new"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    re_path(
        r"^campaigns/(?P<campaign_id>[0-9]+)/(?P<action>pause|resume|cancel)/$",
        views.campaign_action,
        name="campaign-action",
    ),
    path("senders/", views.sender_list, name="sender-list"),
    path("senders/register/", views.sender_register, name="sender-register"),
    path("senders/<int:sender_id>/check/", views.sender_check_again, name="sender-check-again"),
    path("senders/<int:sender_id>/remove/", views.sender_remove, name="sender-remove"),
]
