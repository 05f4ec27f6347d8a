import { LabIcon } from '@jupyterlab/ui-components';

import restifiedSvg from '../style/icons/restified.svg';

export const restifiedIcon = new LabIcon({
  name: 'notebook-restified:restified',
  svgstr: restifiedSvg
});
